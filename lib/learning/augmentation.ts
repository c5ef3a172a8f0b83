import { isMnistDigitsCatalogue } from '@/lib/learning/digits-data';
import { AUGMENT_PRESETS, type AugmentOptions } from '@/lib/ml/model-input';
import type { ModelMeta } from '@/lib/ml/model-store';

/**
 * The augmentation that suits a catalogue's images: digits are shifted, turned and zoomed but
 * never mirrored or erased (a mirrored 2 is no digit); anything else gets the clothing preset.
 */
export function catalogueAugmentation(classNames: readonly string[]): AugmentOptions {
  return isMnistDigitsCatalogue(classNames) ? AUGMENT_PRESETS.digits : AUGMENT_PRESETS.clothing;
}

/**
 * What fitting this model again (fine-tuning) augments with: the augmentation its meta.json
 * records, or for a model saved before it did, its catalogue's.
 */
export function modelAugmentation(meta: Pick<ModelMeta, 'augmentation' | 'classNames'>): AugmentOptions {
  return meta.augmentation ?? catalogueAugmentation(meta.classNames);
}
