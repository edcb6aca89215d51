// A TCP port where a connect hangs, as to the address of a container killed from outside (its
// packets dropped): a listener (a python child) that never accepts, with its accept queue filled,
// so the kernel drops further SYNs.

import { spawn } from 'node:child_process';
import net from 'node:net';

export async function hangingListener(): Promise<{ port: number; close: () => void }> {
  const py = spawn('python3', ['-c', 'import socket, time\ns = socket.socket()\ns.bind(("127.0.0.1", 0))\ns.listen(0)\nprint(s.getsockname()[1], flush=True)\ntime.sleep(120)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await new Promise<string>((r) => py.stdout.once('data', (d: Buffer) => r(d.toString()))));
  const fill: net.Socket[] = [];
  for (let i = 0; i < 3; i++) fill.push(net.connect(port, '127.0.0.1').on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close: () => {
      for (const f of fill) f.destroy();
      py.kill();
    },
  };
}
