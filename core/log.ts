// Hearth's own structured log (JSON lines on stderr), apart from functions' output.
import { pino } from 'pino';

export const log = pino(
  { name: 'hearth', level: process.env.HEARTH_LOG_LEVEL ?? 'info', redact: ['adminToken', 'config.adminToken', 'invokeToken', 'config.invokeToken'] },
  pino.destination({ fd: 2, sync: false }),
);
