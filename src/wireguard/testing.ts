/**
 * In-memory fakes for driving whole devices without a kernel, like
 * wireguard-go's bindtest and tuntest: a lossless datagram network, TUN
 * sinks that record what they are given, and an IPv4/IPv6 packet builder.
 *
 * @module
 */
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { parseIp, parsePrefix } from "../net/ip.ts";
import { FakeClock } from "./clock.ts";
import { type Bind, Device, type PacketReceiver, type TunSink } from "./device.ts";
import { TRANSPORT_HEADER_SIZE, TRANSPORT_OVERHEAD } from "./transport.ts";

/** A datagram in flight on the fake network. */
export interface Datagram {
  /** Sender endpoint. */
  from: Uint8Array;
  /** Destination endpoint. */
  to: Uint8Array;
  /** Payload (a copy). */
  data: Uint8Array;
}

/** A datagram network that queues until `deliver()` is called. */
export class MemoryNetwork {
  /** Datagrams sent and not yet delivered. */
  queue: Datagram[] = [];
  #hosts = new Map<string, PacketReceiver>();

  /** A bind that sends from `from` onto this network. */
  bind(from: Uint8Array): Bind & { from: Uint8Array } {
    const bind = {
      from,
      send: (
        bufs: Uint8Array[],
        sizes: number[],
        eps: Uint8Array[],
        count: number,
        offset: number,
      ) => {
        for (let i = 0; i < count; i++) {
          this.queue.push({
            from: bind.from,
            to: eps[i].slice(),
            data: bufs[i].slice(offset, offset + sizes[i]),
          });
        }
      },
    };
    return bind;
  }

  /** Makes `receiver` the host at `endpoint`. */
  attach(endpoint: Uint8Array, receiver: PacketReceiver): void {
    this.#hosts.set(endpoint.join(","), receiver);
  }

  /** Delivers queued datagrams (and any they cause) until quiet or `limit` is hit. */
  deliver(limit = 1000, filter: (d: Datagram) => boolean = () => true): number {
    let n = 0;
    while (this.queue.length > 0 && n < limit) {
      const d = this.queue.shift()!;
      n++;
      if (!filter(d)) continue;
      const host = this.#hosts.get(d.to.join(","));
      if (host === undefined) continue;
      const buf = new Uint8Array(d.data.length + TRANSPORT_OVERHEAD);
      buf.set(d.data);
      host.receivePackets([buf], [d.data.length], [d.from], 1);
    }
    return n;
  }
}

/** A TUN sink that keeps copies of every packet written. */
export class RecordingTun implements TunSink {
  /** Packets received, in order. */
  packets: Uint8Array[] = [];

  /** Records the batch. */
  write(bufs: Uint8Array[], sizes: number[], offset: number, count: number): void {
    for (let i = 0; i < count; i++) this.packets.push(bufs[i].slice(offset, offset + sizes[i]));
  }
}

/** A fake endpoint: 28 bytes whose first byte is `id`. */
export function fakeEndpoint(id: number): Uint8Array {
  const ep = new Uint8Array(28);
  ep[0] = 10;
  ep[8] = id;
  ep[23] = id;
  return ep;
}

/**
 * Builds a minimal IPv4 or IPv6 packet (protocol 253, "experimentation")
 * from `src` to `dst` carrying `payload`, placed at offset 16 of a buffer with
 * room for the transport overhead — the layout Device.sendPackets expects.
 */
export function ipPacket(
  src: string,
  dst: string,
  payload: Uint8Array,
): { buf: Uint8Array; size: number } {
  const s = parseIp(src), d = parseIp(dst);
  const hdr = s.length === 4 ? 20 : 40;
  const size = hdr + payload.length;
  const buf = new Uint8Array(TRANSPORT_HEADER_SIZE + size + TRANSPORT_OVERHEAD);
  const p = buf.subarray(TRANSPORT_HEADER_SIZE);
  if (s.length === 4) {
    p[0] = 0x45;
    p[2] = size >> 8;
    p[3] = size & 0xff;
    p[8] = 64;
    p[9] = 253;
    p.set(s, 12);
    p.set(d, 16);
  } else {
    p[0] = 0x60;
    p[4] = payload.length >> 8;
    p[5] = payload.length & 0xff;
    p[6] = 253;
    p[7] = 64;
    p.set(s, 8);
    p.set(d, 24);
  }
  p.set(payload, hdr);
  return { buf, size };
}

/** One device of {@linkcode devicePair}: it, its endpoint, the TUN it writes to, its public key. */
export interface PairedDevice {
  /** The device. */
  dev: Device;
  /** Its endpoint on the network. */
  ep: Uint8Array;
  /** What it delivered. */
  tun: RecordingTun;
  /** Its public key. */
  pub: Uint8Array;
}

/**
 * Two devices on one fake network and clock, each the other's peer: `a` routes 10.0.0.2/32 to
 * `b`, `b` 10.0.0.1/32 to `a`. No handshake yet; `send` puts a 20-byte packet 10.0.0.1 →
 * 10.0.0.2 into `dev` (a's, or a device that took over a's sessions), queued on `net`.
 */
export function devicePair(): {
  clock: FakeClock;
  net: MemoryNetwork;
  a: PairedDevice;
  b: PairedDevice;
  send: (dev?: Device) => void;
} {
  const clock = new FakeClock(1_000);
  const net = new MemoryNetwork();
  const make = (id: number): PairedDevice => {
    const priv = generatePrivateKey();
    const ep = fakeEndpoint(id);
    const tun = new RecordingTun();
    const dev = new Device({ privateKey: priv, bind: net.bind(ep), tun, clock });
    net.attach(ep, dev);
    return { dev, ep, tun, pub: publicKeyFrom(priv) };
  };
  const a = make(1), b = make(2);
  a.dev.addPeer({ publicKey: b.pub, endpoint: b.ep, allowedIps: [parsePrefix("10.0.0.2/32")] });
  b.dev.addPeer({ publicKey: a.pub, endpoint: a.ep, allowedIps: [parsePrefix("10.0.0.1/32")] });
  const send = (dev = a.dev) => {
    const { buf, size } = ipPacket("10.0.0.1", "10.0.0.2", new Uint8Array(20));
    dev.sendPackets([buf], [size], 16, 1);
  };
  return { clock, net, a, b, send };
}
