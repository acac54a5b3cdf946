/** Groups items into batches: one is handed on when it is `maxSize` full, or when its first item is `maxAgeMs` old. */
export interface Batcher<T> {
  add(item: T): void;
  /** Hands on the open batch now, if it has anything. */
  flush(): void;
  /** Items in the open batch. */
  readonly size: number;
}

export interface BatcherOptions<T> {
  maxSize: number;
  maxAgeMs: number;
  onBatch: (items: T[]) => void;
}

export function createBatcher<T>(o: BatcherOptions<T>): Batcher<T> {
  let items: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (items.length === 0) return;
    const batch = items;
    items = [];
    o.onBatch(batch);
  };
  return {
    add(item) {
      items.push(item);
      if (items.length >= o.maxSize) flush();
      else timer ??= setTimeout(flush, o.maxAgeMs);
    },
    flush,
    get size() {
      return items.length;
    },
  };
}
