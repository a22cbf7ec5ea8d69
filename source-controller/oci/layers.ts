/**
 * Choosing the content layer of an artifact: the Trellis bundle layer, else
 * Flux's, else whatever `layerSelector.mediaType` names. Exactly one layer must
 * match; otherwise the error lists what the manifest has so the user can fix the
 * selector.
 */
import { LayerSelectionError } from './errors.ts';
import type { Descriptor, ImageManifest } from './manifest.ts';
import { DEFAULT_CONTENT_MEDIA_TYPES } from './media-types.ts';

/** What to do with the chosen layer: unpack it (a tar+gzip) or keep it as it is. */
export type LayerOperation = 'extract' | 'copy';

/** `OCIRepository.spec.layerSelector`. */
export interface LayerSelector {
  readonly mediaType?: string | undefined;
  readonly operation?: LayerOperation | undefined;
}

/** The chosen layer and what to do with it. */
export interface SelectedLayer {
  readonly descriptor: Descriptor;
  readonly operation: LayerOperation;
}

/** Picks the one content layer of `manifest`; throws {@link LayerSelectionError}. */
export function selectLayer(manifest: ImageManifest, selector: LayerSelector | undefined, what: string): SelectedLayer {
  const operation = selector?.operation ?? 'extract';
  if (operation !== 'extract' && operation !== 'copy') {
    throw new LayerSelectionError(`layerSelector.operation must be "extract" or "copy", not ${JSON.stringify(operation)}`, []);
  }
  const available = manifest.layers.map((l) => l.mediaType);
  const wanted = selector?.mediaType ? [selector.mediaType] : DEFAULT_CONTENT_MEDIA_TYPES;
  for (const mediaType of wanted) {
    const matches = manifest.layers.filter((l) => l.mediaType === mediaType);
    if (matches.length === 1) return { descriptor: matches[0]!, operation };
    if (matches.length > 1) {
      throw new LayerSelectionError(`${what} has ${matches.length} layers of media type ${mediaType}; exactly one is required`, available);
    }
  }
  const listed = available.length > 0 ? available.join(', ') : 'no layers';
  throw new LayerSelectionError(`${what} has no layer of media type ${wanted.join(' or ')} (it has: ${listed}); set layerSelector.mediaType`, available);
}
