import { loadYaml } from '@kubernetes/client-node';

/**
 * YAML as plain data. client-node's loadYaml turns a document with a built-in apiVersion and kind
 * (a CRD's) into its typed model, renaming and dropping fields; nested one level down it does not.
 */
export function parseYaml(text: string): unknown {
  const nested = 'document:\n' + text.replace(/^(?=.)/gm, '  ');
  return loadYaml<{ document: unknown }>(nested).document;
}
