/** The names of the exported graph's input and output, shared by the exporter and the sessions that run it. */
export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'logits';
