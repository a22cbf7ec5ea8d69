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
 *
 * `--heap-growing-percent=50` lets the old generation grow to 1.5 times what
 * the last full collection kept before the next one, where V8 would allow up to
 * four times while the program allocates quickly. A controller's live heap is
 * small (77 MiB with 1,000 Packages); the slack was most of its resident
 * memory. Measured with 1,000 Packages (bundled controllers): peak RSS 255–296
 * MiB without it, 209 MiB with it (207 MiB at 20 percent), the same throughput.
 */
export const CONTROLLER_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=50'];
