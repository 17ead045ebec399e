/**
 * GitHub API objects as the REST API returns them, with every field GitHub's OpenAPI
 * description requires (the fake checks each one it serves against it).
 */

const API = 'https://api.github.com';
const WEB = 'https://github.com';
const STAMP = '2024-01-01T00:00:00Z';

export function simpleUser(login: string, id = 1) {
  const url = `${API}/users/${login}`;
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}`,
    gravatar_id: '',
    url,
    html_url: `${WEB}/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'User',
    site_admin: false,
  };
}

export function repository(owner: string, name: string, id = 100) {
  const url = `${API}/repos/${owner}/${name}`;
  const templated = (path: string) => `${url}/${path}`;
  return {
    id,
    node_id: `R_${id}`,
    name,
    full_name: `${owner}/${name}`,
    owner: simpleUser(owner, 2),
    private: true,
    html_url: `${WEB}/${owner}/${name}`,
    description: null,
    fork: false,
    url,
    archive_url: templated('{archive_format}{/ref}'),
    assignees_url: templated('assignees{/user}'),
    blobs_url: templated('git/blobs{/sha}'),
    branches_url: templated('branches{/branch}'),
    collaborators_url: templated('collaborators{/collaborator}'),
    comments_url: templated('comments{/number}'),
    commits_url: templated('commits{/sha}'),
    compare_url: templated('compare/{base}...{head}'),
    contents_url: templated('contents/{+path}'),
    contributors_url: templated('contributors'),
    deployments_url: templated('deployments'),
    downloads_url: templated('downloads'),
    events_url: templated('events'),
    forks_url: templated('forks'),
    git_commits_url: templated('git/commits{/sha}'),
    git_refs_url: templated('git/refs{/sha}'),
    git_tags_url: templated('git/tags{/sha}'),
    git_url: `git://github.com/${owner}/${name}.git`,
    issue_comment_url: templated('issues/comments{/number}'),
    issue_events_url: templated('issues/events{/number}'),
    issues_url: templated('issues{/number}'),
    keys_url: templated('keys{/key_id}'),
    labels_url: templated('labels{/name}'),
    languages_url: templated('languages'),
    merges_url: templated('merges'),
    milestones_url: templated('milestones{/number}'),
    notifications_url: templated('notifications{?since,all,participating}'),
    pulls_url: templated('pulls{/number}'),
    releases_url: templated('releases{/id}'),
    ssh_url: `git@github.com:${owner}/${name}.git`,
    stargazers_url: templated('stargazers'),
    statuses_url: templated('statuses/{sha}'),
    subscribers_url: templated('subscribers'),
    subscription_url: templated('subscription'),
    tags_url: templated('tags'),
    teams_url: templated('teams'),
    trees_url: templated('git/trees{/sha}'),
    clone_url: `${WEB}/${owner}/${name}.git`,
    mirror_url: null,
    hooks_url: templated('hooks'),
    svn_url: `${WEB}/${owner}/${name}`,
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 1,
    default_branch: 'main',
    open_issues_count: 0,
    open_issues: 0,
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    archived: false,
    disabled: false,
    license: null,
    pushed_at: STAMP,
    created_at: STAMP,
    updated_at: STAMP,
  };
}

export function label(name: string, id: number) {
  return {
    id,
    node_id: `LA_${id}`,
    url: `${API}/labels/${encodeURIComponent(name)}`,
    name,
    description: '',
    color: 'ededed',
    default: false,
  };
}

export type StoredPull = {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  headSha: string;
  baseSha: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  labels: string[];
  reviewers: string[];
  teams: string[];
  autoMerge: string | undefined;
};

/** A full pull-request object (the simple one GitHub lists is a subset of it). */
export function pullRequest(owner: string, name: string, pull: StoredPull, labelIds: (name: string) => number) {
  const repo = repository(owner, name);
  const url = `${API}/repos/${owner}/${name}/pulls/${pull.number}`;
  const html = `${WEB}/${owner}/${name}/pull/${pull.number}`;
  const issue = `${API}/repos/${owner}/${name}/issues/${pull.number}`;
  const bot = simpleUser('lynq-bot', 7);
  return {
    url,
    id: 1000 + pull.number,
    node_id: `PR_${pull.number}`,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issue,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${API}/repos/${owner}/${name}/pulls/comments{/number}`,
    comments_url: `${issue}/comments`,
    statuses_url: `${API}/repos/${owner}/${name}/statuses/${pull.headSha}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    user: bot,
    body: pull.body,
    labels: pull.labels.map((name) => label(name, labelIds(name))),
    milestone: null,
    active_lock_reason: null,
    created_at: STAMP,
    updated_at: STAMP,
    closed_at: pull.state === 'closed' ? STAMP : null,
    merged_at: pull.merged ? STAMP : null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: pull.reviewers.map((login, index) => simpleUser(login, 50 + index)),
    requested_teams: [],
    head: { label: `${owner}:${pull.head}`, ref: pull.head, sha: pull.headSha, user: simpleUser(owner, 2), repo },
    base: { label: `${owner}:${pull.base}`, ref: pull.base, sha: pull.baseSha, user: simpleUser(owner, 2), repo },
    _links: {
      self: { href: url },
      html: { href: html },
      issue: { href: issue },
      comments: { href: `${issue}/comments` },
      review_comments: { href: `${url}/comments` },
      review_comment: { href: `${API}/repos/${owner}/${name}/pulls/comments{/number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: `${API}/repos/${owner}/${name}/statuses/${pull.headSha}` },
    },
    author_association: 'NONE',
    auto_merge:
      pull.autoMerge === undefined
        ? null
        : { enabled_by: bot, merge_method: pull.autoMerge, commit_title: pull.title, commit_message: '' },
    draft: pull.draft,
    merged: pull.merged,
    mergeable: pull.state === 'open' ? true : null,
    rebaseable: null,
    mergeable_state: 'clean',
    merged_by: pull.merged ? bot : null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 1,
    deletions: 0,
    changed_files: 1,
  };
}

export function issueComment(owner: string, name: string, issueNumber: number, id: number, body: string) {
  return {
    id,
    node_id: `IC_${id}`,
    url: `${API}/repos/${owner}/${name}/issues/comments/${id}`,
    html_url: `${WEB}/${owner}/${name}/pull/${issueNumber}#issuecomment-${id}`,
    body,
    user: simpleUser('lynq-bot', 7),
    created_at: STAMP,
    updated_at: STAMP,
    issue_url: `${API}/repos/${owner}/${name}/issues/${issueNumber}`,
    author_association: 'NONE',
  };
}

export function installation(id: number, owner: string, appId: number) {
  return {
    id,
    account: simpleUser(owner, 2),
    repository_selection: 'selected',
    access_tokens_url: `${API}/app/installations/${id}/access_tokens`,
    repositories_url: `${API}/installation/repositories`,
    html_url: `${WEB}/settings/installations/${id}`,
    app_id: appId,
    app_slug: 'lynq-bridge',
    target_id: 2,
    target_type: 'Organization',
    permissions: { contents: 'write', pull_requests: 'write', issues: 'write' },
    events: [],
    created_at: STAMP,
    updated_at: STAMP,
    single_file_name: null,
    suspended_by: null,
    suspended_at: null,
  };
}

export type StoredCheckRun = {
  id: number;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  title: string;
  summary: string;
};

/** A check run as GitHub returns it (an app's, as only GitHub Apps may write them). */
export function checkRun(owner: string, name: string, run: StoredCheckRun) {
  return {
    id: run.id,
    head_sha: run.headSha,
    node_id: `CR_${run.id}`,
    external_id: '',
    url: `${API}/repos/${owner}/${name}/check-runs/${run.id}`,
    html_url: `${WEB}/${owner}/${name}/runs/${run.id}`,
    details_url: null,
    status: run.status,
    conclusion: run.conclusion,
    started_at: STAMP,
    completed_at: run.status === 'completed' ? STAMP : null,
    output: {
      title: run.title,
      summary: run.summary,
      text: null,
      annotations_count: 0,
      annotations_url: `${API}/repos/${owner}/${name}/check-runs/${run.id}/annotations`,
    },
    name: run.name,
    check_suite: { id: 5000 },
    app: null,
    pull_requests: [],
  };
}
