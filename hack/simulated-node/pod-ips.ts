/**
 * Made-up Pod IPs from 10.244.0.0/16. They are only ever written into Pod status
 * (Endpoints and health checks read them); nothing connects to them.
 */

/** Hands out distinct Pod IPs, one per Pod uid, and takes over IPs Pods already have. */
export class PodIPPool {
  readonly #byPod = new Map<string, string>();
  readonly #inUse = new Set<string>();
  #next = 0;

  /** The IP of Pod `uid`, giving it a free one when it has none. */
  assign(uid: string): string {
    const known = this.#byPod.get(uid);
    if (known) return known;
    for (let tries = 0; tries < 65_536; tries++) {
      this.#next = (this.#next + 1) % 65_536;
      const ip = `10.244.${this.#next >> 8}.${this.#next & 255}`;
      // Skip network/broadcast-looking addresses to keep the IPs plausible.
      if ((this.#next & 255) === 0 || (this.#next & 255) === 255 || this.#inUse.has(ip)) continue;
      this.#remember(uid, ip);
      return ip;
    }
    throw new Error('the simulated node ran out of Pod IPs (65k Pods bound at once)');
  }

  /** Records the IP a Pod already reports (after a restart of the node). */
  observe(uid: string, ip: string | undefined): void {
    if (ip && !this.#byPod.has(uid)) this.#remember(uid, ip);
  }

  /** Frees the IP of a Pod that is gone. */
  release(uid: string): void {
    const ip = this.#byPod.get(uid);
    if (ip === undefined) return;
    this.#byPod.delete(uid);
    this.#inUse.delete(ip);
  }

  #remember(uid: string, ip: string): void {
    this.#byPod.set(uid, ip);
    this.#inUse.add(ip);
  }
}
