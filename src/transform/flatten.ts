/**
 * Flattens nested objects into dotted paths (`{a:{b:1}}` → `a.b`). Arrays and primitives are leaves.
 * Only paths up to `maxDepth` segments are kept, so hostile nesting costs nothing; the walk is iterative
 * and the result is a Map, so `__proto__` and friends are plain keys.
 */
export function flatten(value: Record<string, unknown>, maxDepth: number): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const stack: [string, Record<string, unknown>, number][] = [['', value, 1]];
  while (stack.length > 0) {
    const [prefix, obj, depth] = stack.pop() as [string, Record<string, unknown>, number];
    for (const key of Object.keys(obj)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const v = obj[key];
      if (isPlainObject(v)) {
        if (depth < maxDepth) stack.push([path, v, depth + 1]);
      } else {
        out.set(path, v);
      }
    }
  }
  return out;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
