/**
 * Strings made one piece in memory. V8 keeps a string built by concatenation
 * (`a + b`, `+=`, a template) as a rope: a tree of the pieces, flattened into
 * one only when something reads it as a whole (a hash, `JSON.stringify`, a
 * socket). A bundle produces such strings in bulk: js-yaml builds every block
 * scalar (`|`, `>`) line by line, two small heap objects per line, and
 * canonical texts are built member by member. Kept for the rest of a reconcile,
 * ropes outlive the young generation, so the collector copies every piece of
 * them and the old generation holds them all until the first reader flattens
 * the rope. Flattening a string where it is made lets its pieces die young.
 */

/** Strings shorter than this are never ropes: V8 copies shorter concatenations into one piece. */
const ROPE_MIN_LENGTH = 13;

/** Where {@link flattened} leaves the numeric value it asks for: a store, so that the conversion is never optimized away. */
let _numericValue = 0;

/**
 * `text` itself, flattened into one piece if it was a rope. Converting a
 * string to a number makes V8 flatten it in place first (the trick of the
 * `flatstr` package); the string's value does not change, and a string that
 * is already one piece costs a scan of its first characters.
 */
export function flattened(text: string): string {
  if (text.length >= ROPE_MIN_LENGTH) _numericValue = Number(text);
  return text;
}
