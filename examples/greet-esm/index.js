// ES module with a default export; the zip of this folder is bundled into one script at deploy.
import { greeting } from './greeting.js';

export default async function (event) {
  return { message: greeting(event.name ?? 'world') };
}
