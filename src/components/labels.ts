/** The Docker provider takes labels as a list of pairs. */
export function toLabelList(labels: Readonly<Record<string, string>>): { label: string; value: string }[] {
  return Object.entries(labels).map(([label, value]) => ({ label, value }));
}
