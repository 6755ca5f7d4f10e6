// LangChain.js: a document compressor (as @langchain/cohere's CohereRerank is), for a
// ContextualCompressionRetriever or on its own. @langchain/core is an optional peer dependency:
// only this entry point ('llama-rerank/langchain') loads it.
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { type RerankCall, type RerankSource, rerankCall, topNOption } from './source.js';

export { RerankServerError } from './source.js';
export type { InProcessReranker, RerankSource } from './source.js';

export type LlamaRerankCompressorOptions = RerankSource & {
  /** How many documents compressDocuments() keeps (default 3, as CohereRerank). */
  topN?: number;
  /** The task instruction of the prompt; the model's default when absent. */
  instruction?: string;
};

export class LlamaRerankCompressor extends BaseDocumentCompressor {
  topN: number;
  instruction?: string;
  private readonly call: RerankCall;

  constructor(options: LlamaRerankCompressorOptions) {
    super();
    this.call = rerankCall(options);
    this.topN = topNOption(options.topN, 3);
    this.instruction = options.instruction;
  }

  /** The `topN` most relevant documents, most relevant first, each with `metadata.relevanceScore`. */
  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    if (documents.length === 0) return [];
    const ranked = await this.rerank(documents, query, { topN: this.topN });
    // Copies: the retriever's documents (perhaps a vector store's own objects) stay as they were.
    return ranked.map(({ index, relevanceScore }) => {
      const doc = documents[index];
      return new Document({ pageContent: doc.pageContent, id: doc.id, metadata: { ...doc.metadata, relevanceScore } });
    });
  }

  /** Scores documents (or texts) against the query: indexes into `documents`, most relevant first. */
  async rerank(
    documents: (DocumentInterface | string)[],
    query: string,
    options: { topN?: number; signal?: AbortSignal } = {},
  ): Promise<{ index: number; relevanceScore: number }[]> {
    const response = await this.call(
      {
        query,
        documents: documents.map((d) => (typeof d === 'string' ? d : d.pageContent)),
        top_n: options.topN,
        ...(this.instruction !== undefined ? { instruction: this.instruction } : {}),
      },
      options.signal,
    );
    return response.results.map((r) => ({ index: r.index, relevanceScore: r.relevance_score }));
  }
}
