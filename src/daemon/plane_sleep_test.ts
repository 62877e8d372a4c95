import assert from "node:assert/strict";
import { EventFd } from "../../ffi/eventfd.ts";
import { MAX_HELD, type PlaneLife, SleepCycle, type SleepCycleHost } from "./plane_sleep.ts";
import { type PlaneSessions, sharedNow } from "./ts_plane_messages.ts";

/** A Worker that ends when told to (asleep, failed) or stopped. */
class FakeLife implements PlaneLife {
  readonly done: Promise<void>;
  #end!: () => void;
  stopped = false;
  adopted: readonly string[] | null = null;
  constructor(readonly sessions: PlaneSessions | null, readonly held: readonly string[]) {
    this.done = new Promise((r) => this.#end = r);
  }
  end(): void {
    this.#end();
  }
  stop(): Promise<void> {
    this.stopped = true;
    this.#end();
    return Promise.resolve();
  }
}

/** A host whose watched fd is an eventfd and whose reads take `incoming`. */
function fakeHost(fd: EventFd) {
  const lives: FakeLife[] = [];
  const lines: string[] = [];
  const incoming: string[] = [];
  let failNext = false;
  let deferNext = false;
  let resolveDeferred: (() => void) | null = null;
  let released = 0;
  const host: SleepCycleHost<FakeLife, string> = {
    start(sessions, held) {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error("no Worker today"));
      }
      const life = new FakeLife(sessions, [...held]);
      lives.push(life);
      if (!deferNext) return Promise.resolve(life);
      deferNext = false;
      return new Promise((r) => resolveDeferred = () => r(life));
    },
    adopt(life, held) {
      life.adopted = [...held];
    },
    watchFds: () => [fd.fd],
    read(hold) {
      fd.clear();
      for (const p of incoming.splice(0)) hold(p);
    },
    log: (l) => lines.push(l),
    released: () => released++,
  };
  return {
    host,
    lives,
    lines,
    /** A packet arrives on the watched fd. */
    arrive(...pkts: string[]) {
      incoming.push(...pkts);
      fd.signal();
    },
    failNextStart: () => failNext = true,
    /** The next start resolves only at {@linkcode finishStart}. */
    deferNextStart: () => deferNext = true,
    finishStart: () => resolveDeferred?.(),
    released: () => released,
  };
}

function sessions(): PlaneSessions {
  const now = sharedNow();
  return { peers: [], savedAt: now, keysUntil: now + 60_000 };
}

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(f(), what);
}

Deno.test("SleepCycle: sleeps with the Worker's sessions, and a packet wakes a Worker that gets them and it", async () => {
  using fd = new EventFd();
  const h = fakeHost(fd);
  const cycle = await SleepCycle.start(h.host);
  try {
    assert.equal(h.lives.length, 1);
    assert.equal(h.lives[0].sessions, null);
    assert.equal(cycle.awake, h.lives[0]);
    assert.equal(cycle.asleep, false);

    const kept = sessions();
    assert.equal(cycle.fallingAsleep(kept), true);
    assert.equal(cycle.asleep, true);
    assert.equal(cycle.awake, null, "no Worker to talk to while it falls asleep");
    h.lives[0].end();
    await until("the asleep line", () => h.lines.length === 1);
    assert.match(h.lines[0], /data plane asleep: no traffic \(0 sessions kept\)/);
    assert.equal(h.released(), 1);

    h.arrive("ping");
    await until("a second Worker", () => h.lives.length === 2);
    const second = h.lives[1];
    assert.equal(second.sessions, kept, "the new Worker resumes the kept sessions");
    assert.deepEqual(second.held, ["ping"]);
    await until("awake", () => cycle.awake === second);
    assert.deepEqual(second.adopted, ["ping"]);
    assert.match(h.lines[1], /data plane awake in \d+ ms/);
    assert.equal(cycle.heldDrops, 0);
  } finally {
    await cycle.stop();
  }
  assert.equal(h.lives.at(-1)!.stopped, true);
  await cycle.done;
});

Deno.test("SleepCycle: packets past the held bound are counted; a Worker that cannot start drops what was held and is retried later", async () => {
  using fd = new EventFd();
  const h = fakeHost(fd);
  const cycle = await SleepCycle.start(h.host);
  try {
    cycle.fallingAsleep(sessions());
    h.lives[0].end();
    await until("asleep", () => h.lines.length === 1);

    h.failNextStart();
    h.arrive(...Array.from({ length: MAX_HELD + 5 }, (_, i) => `p${i}`));
    await until("the failed wake logged", () => h.lines.some((l) => l.startsWith("cannot wake")));
    assert.equal(cycle.heldDrops, 5 + MAX_HELD, "5 past the bound, then the held ones");
    assert.equal(h.lives.length, 1);
    assert.equal(cycle.asleep, true);

    // Within the retry delay a packet is held but starts no Worker.
    h.arrive("later");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.lives.length, 1, "no new try before the retry delay");
    assert.equal(cycle.awake, null);
  } finally {
    await cycle.stop();
  }
  await cycle.done;
});

Deno.test("SleepCycle: a Worker that ends without falling asleep stops the plane; stop wins over a wake", async () => {
  using fd = new EventFd();
  const h = fakeHost(fd);
  const failed = await SleepCycle.start(h.host);
  h.lives[0].end(); // failed while awake
  await failed.done;
  assert.equal(failed.asleep, true);
  assert.equal(failed.fallingAsleep(sessions()), false, "no sleep after the end");

  const cycle = await SleepCycle.start(h.host);
  cycle.fallingAsleep(sessions());
  h.lives[1].end();
  await until("asleep", () => h.lines.length === 1);
  h.deferNextStart();
  h.arrive("x");
  await until("a Worker starting", () => h.lives.length === 3);
  await cycle.stop(); // while the wake's Worker starts
  h.finishStart();
  await until("the late Worker stopped", () => h.lives[2].stopped);
  assert.equal(cycle.awake, null);
  assert.equal(h.lives[2].adopted, null, "never adopted");
});

Deno.test("SleepCycle: the host's own work wakes the watch when due, and a tick that needs a Worker starts one", async () => {
  using fd = new EventFd();
  const h = fakeHost(fd);
  let dueAt = Infinity, ticks = 0, needs = false;
  h.host.due = () => dueAt;
  h.host.tick = () => {
    if (performance.now() >= dueAt) {
      ticks++;
      dueAt = performance.now() + 30;
    }
    return needs;
  };
  const cycle = await SleepCycle.start(h.host);
  try {
    cycle.fallingAsleep(sessions());
    dueAt = performance.now() + 30;
    h.lives[0].end();
    // Nothing arrives on the fd: only the due times end the watch's waits (10 s otherwise).
    await until("three ticks", () => ticks >= 3);
    assert.equal(h.lives.length, 1, "keepalives sent asleep start no Worker");
    needs = true;
    await until("a Worker for the tick", () => h.lives.length === 2);
    assert.deepEqual(h.lives[1].held, [], "nothing held: the Worker is for the host's work");
    await until("awake", () => cycle.awake === h.lives[1]);
  } finally {
    await cycle.stop();
  }
});
