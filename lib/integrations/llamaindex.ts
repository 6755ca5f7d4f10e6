// LlamaIndex.TS: a node postprocessor (as its CohereRerank and JinaAIReranker are), for a query
// engine's nodePostprocessors or on its own. @llamaindex/core is an optional peer dependency: only
// this entry point ('llama-rerank/llamaindex') loads it.
import type { MessageContent } from '@llamaindex/core/llms';
import type { BaseNodePostprocessor } from '@llamaindex/core/postprocessor';
import { MetadataMode, type NodeWithScore } from '@llamaindex/core/schema';
import { extractText } from '@llamaindex/core/utils';
import { type RerankCall, type RerankSource, rerankCall, topNOption } from './source.js';

export { RerankServerError } from './source.js';
export type { InProcessReranker, RerankSource } from './source.js';

export type LlamaRerankPostprocessorOptions = RerankSource & {
  /** How many nodes postprocessNodes() keeps (default 2, as CohereRerank). */
  topN?: number;
  /** What of a node is scored: its text with its metadata (ALL, the default, as CohereRerank) or not (NONE). */
  metadataMode?: MetadataMode;
  /** The task instruction of the prompt; the model's default when absent. */
  instruction?: string;
};

export class LlamaRerankPostprocessor implements BaseNodePostprocessor {
  topN: number;
  metadataMode: MetadataMode;
  instruction?: string;
  private readonly call: RerankCall;

  constructor(options: LlamaRerankPostprocessorOptions) {
    this.call = rerankCall(options);
    this.topN = topNOption(options.topN, 2);
    this.metadataMode = options.metadataMode ?? MetadataMode.ALL;
    this.instruction = options.instruction;
  }

  /** The `topN` most relevant nodes, most relevant first, each with its relevance score as `score`. */
  async postprocessNodes(nodes: NodeWithScore[], query?: MessageContent): Promise<NodeWithScore[]> {
    if (query === undefined) throw new TypeError('LlamaRerankPostprocessor needs the query to rerank against');
    if (nodes.length === 0) return [];
    const response = await this.call({
      query: extractText(query),
      documents: nodes.map(({ node }) => node.getContent(this.metadataMode)),
      top_n: this.topN,
      ...(this.instruction !== undefined ? { instruction: this.instruction } : {}),
    });
    return response.results.map((r) => ({ node: nodes[r.index].node, score: r.relevance_score }));
  }
}
