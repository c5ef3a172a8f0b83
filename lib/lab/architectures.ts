import { badInput } from '@/lib/errors';

/**
 * What the model lab compares: the four Loupe networks (`cnn` is the shipped architecture,
 * `resnet20` the residual net of issue 18)
 * and two classic baselines, multinomial logistic regression (a dense softmax layer on the
 * pixels, fitted like the networks) and a random forest (lib/lab/forest.ts). Names only, no
 * TensorFlow.js: the web server reads these and never loads tfjs (docs/architecture.md).
 */
export const LAB_ARCHITECTURES = ['logreg', 'forest', 'mlp', 'lenet5', 'cnn', 'resnet20'] as const;
export type LabArchitecture = (typeof LAB_ARCHITECTURES)[number];

/**
 * Lab models that Loupe can store and serve (lib/ml/model.ts's ARCHITECTURES, checked equal in
 * tests/unit/lab), so can register as a candidate.
 */
export const REGISTRABLE_ARCHITECTURES = ['mlp', 'lenet5', 'cnn', 'resnet20'] as const;
export type RegistrableArchitecture = (typeof REGISTRABLE_ARCHITECTURES)[number];

export function isRegistrableArchitecture(arch: string): arch is RegistrableArchitecture {
  return (REGISTRABLE_ARCHITECTURES as readonly string[]).includes(arch);
}

/** Comma-separated architecture names, checked; repeated names are kept once, in order. */
export function parseLabArchitectures(text: string): LabArchitecture[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(LAB_ARCHITECTURES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0)
    throw badInput(
      `unknown architecture ${unknown.map((n) => `"${n}"`).join(', ') || '(none given)'}; choose from ${LAB_ARCHITECTURES.join(', ')}`,
    );
  return [...new Set(names)] as LabArchitecture[];
}
