// The HTTP contract of POST /v1/rerank as a JSON schema: the hosted API's body plus our fields.
// The library checks every request again (lib/validate.ts); the schema answers the HTTP client
// early and precisely (422 naming the field), and holds the per-request limits.

export function rerankBodySchema(maxDocuments: number) {
  return {
    type: 'object',
    required: ['query', 'documents'],
    // An unknown field is refused rather than ignored: a client that sends e.g. a truncation
    // setting under another name must not get silently different results.
    additionalProperties: false,
    properties: {
      // Any value: one server serves one model (see the README), and hosted-API clients always send one.
      model: { type: 'string' },
      query: { type: 'string', minLength: 1 },
      documents: {
        type: 'array',
        minItems: 1,
        maxItems: maxDocuments,
        items: {
          anyOf: [
            { type: 'string' },
            // Unknown fields are refused here too: one rule at every level.
            { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string' } } },
          ],
        },
      },
      top_n: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
      return_documents: { type: 'boolean' },
      instruction: { type: 'string', minLength: 1 },
      truncate: { type: 'boolean' },
      max_chunks_per_doc: { type: 'integer', minimum: 1, maximum: 1000 },
    },
  } as const;
}

/** What the fields with several accepted forms (anyOf) must be, for error messages. */
export const ANY_OF_MESSAGES: Record<string, string> = {
  '#/properties/documents/items/anyOf': 'must be a string or an object with a string `text`',
  '#/properties/top_n/anyOf': 'must be a positive integer or null',
};

/** Strict JSON: no type coercion ("5" is not 5), nothing removed or defaulted behind the client's back. */
export const AJV_OPTIONS = { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } as const;
