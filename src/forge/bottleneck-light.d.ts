// The light build (no Redis) that the Octokit plugins use; same API as the full one.
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
