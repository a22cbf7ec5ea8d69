/**
 * The Node.js options the controllers run with, wherever they are started: the
 * shipped Deployments' command, the image's entrypoint, `trellis up` and the
 * benchmark (bench/framework/controllers.ts), so that what is measured is what
 * ships.
 *
 * `--max-semi-space-size=2` caps V8's young generation at two 2 MiB
 * semi-spaces. By default V8 sizes them from the heap limit, which follows the
 * machine's memory, and a controller's steady stream of short-lived objects
 * (watch events, JSON bodies, status patches) then keeps far more of it
 * resident than the objects it holds. Measured with 1,000 Packages
 * (docs/performance.md): apply-controller peak RSS 414 MiB before, 251 MiB
 * after, the same throughput.
 */
export const CONTROLLER_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2'];
