// A plain module, not a client one: server components read these strings too (a client
// module's non-component exports reach the server as references, not values).

/** The models page's and the projection's vocabulary, one line each. */
export const TERMS = {
  temperature:
    'T, the temperature: the model’s scores are divided by T before the softmax so that its confidence matches how often it is right (T > 1 tones confidence down).',
  ece: 'ECE, expected calibration error: the average gap between the confidence the model states and the accuracy it reaches, over 15 confidence bins; lower is better.',
  holdout: 'Holdout: items with trusted labels that no model trains on, used to compare versions fairly.',
  heldOutHuman:
    'Held-out human labels: about one in five reviewer labels, never trained on, to check a candidate learned from reviewers.',
  replay: 'Replay: earlier training images mixed into fine-tuning so the model does not forget what it knew.',
  gate: 'The gate: a candidate is promoted only if its holdout accuracy drops by no more than the allowed margin and its accuracy on held-out human labels improves.',
  threshold:
    'Threshold: a prediction whose calibrated confidence reaches it is accepted without review; below it, the item goes to the review queue.',
} as const;
