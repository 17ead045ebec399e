/** GitLab behind the forge seam: merge requests (and, from the credential provider's token, git over HTTPS as user `oauth2`). */
export { openGitLab, GitLabMergeRequests } from './merge-requests.ts';
export { projectPath } from './project-path.ts';
