/** `text` with every occurrence of each secret replaced by [redacted]; empty secrets are no secrets. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length > 0) clean = clean.split(secret).join('[redacted]');
  return clean;
}
