/**
 * One turn of the event loop between batches, so a signal (Ctrl-C), a control command or a page's
 * events get handled during training. Node has setImmediate; a page has no such call, and its
 * setTimeout(0) waits at least 4 ms once nested, so there a MessageChannel message does the same.
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  if (immediate) return new Promise((resolve) => void immediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
