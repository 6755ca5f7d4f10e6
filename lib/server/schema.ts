// The HTTP contract of POST /v1/rerank as a JSON schema: the hosted API's body plus our fields.
// The library checks every request again (lib/validate.ts); the schema answers the HTTP client
// early and precisely (422 naming the field), and holds the per-request limits.

/** An optional field that may also be sent as null, which means unset (Python clients send None so). */
export const orNull = <S extends object>(schema: S) => ({ anyOf: [schema, { type: 'null' }] }) as const;

export function rerankBodySchema(maxDocuments: number) {
  return {
    type: 'object',
    required: ['query', 'documents'],
    // An unknown field is refused rather than ignored: a client that sends e.g. a truncation
    // setting under another name must not get silently different results.
    additionalProperties: false,
    properties: {
      // Any value: one server serves one model (see the README), and hosted-API clients always send one.
      model: orNull({ type: 'string' }),
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
      top_n: orNull({ type: 'integer', minimum: 1 }),
      return_documents: orNull({ type: 'boolean' }),
      instruction: orNull({ type: 'string', minLength: 1 }),
      truncate: orNull({ type: 'boolean' }),
      max_chunks_per_doc: orNull({ type: 'integer', minimum: 1, maximum: 1000 }),
    },
  } as const;
}

/** What the fields with several accepted forms (anyOf) must be, for error messages. */
export const ANY_OF_MESSAGES: Record<string, string> = {
  '#/properties/documents/items/anyOf': 'must be a string or an object with a string `text`',
  '#/properties/model/anyOf': 'must be a string or null',
  '#/properties/top_n/anyOf': 'must be a positive integer or null',
  '#/properties/return_documents/anyOf': 'must be a boolean or null',
  '#/properties/instruction/anyOf': 'must be a non-empty string or null',
  '#/properties/truncate/anyOf': 'must be a boolean or null',
  '#/properties/max_chunks_per_doc/anyOf': 'must be an integer from 1 to 1000, or null',
  // /v2/rerank's
  '#/properties/max_tokens_per_doc/anyOf': 'must be a positive integer or null',
  '#/properties/priority/anyOf': 'must be an integer of at least 0, or null',
};

/** Strict JSON: no type coercion ("5" is not 5), nothing removed or defaulted behind the client's back. */
export const AJV_OPTIONS = { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } as const;
