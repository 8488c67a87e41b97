import { load } from 'js-yaml';

/** YAML as plain data (one document). */
export function parseYaml(text: string): unknown {
  return load(text);
}
