/**
 * The path of the first member name that appears twice in one object of a JSON text (`primary`,
 * `keys[1].version`), or undefined. JSON.parse silently keeps the last of duplicates, so a keyring with two
 * `"primary"` members would mean whatever its last line says. Call it on text JSON.parse accepted.
 */
export function findDuplicateMember(json: string): string | undefined {
  type Frame = { kind: 'object'; names: Set<string>; expectName: boolean; current?: string } | { kind: 'array'; index: number };
  const stack: Frame[] = [];
  const path = (name: string) =>
    stack
      .slice(0, -1)
      .map((f) => (f.kind === 'object' ? `.${f.current ?? ''}` : `[${f.index}]`))
      .join('')
      .concat(`.${name}`)
      .replace(/^\./, '');
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    const top = stack[stack.length - 1];
    if (ch === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (top?.kind === 'object' && top.expectName) {
        const name = JSON.parse(json.slice(i, j + 1)) as string;
        if (top.names.has(name)) return path(name);
        top.names.add(name);
        top.current = name;
        top.expectName = false;
      }
      i = j;
    } else if (ch === '{') {
      stack.push({ kind: 'object', names: new Set(), expectName: true });
    } else if (ch === '[') {
      stack.push({ kind: 'array', index: 0 });
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      if (top?.kind === 'object') top.expectName = true;
      else if (top) top.index++;
    }
  }
  return undefined;
}
