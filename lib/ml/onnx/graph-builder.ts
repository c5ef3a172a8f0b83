/**
 * Builds an ONNX ModelProto with the onnx-proto package (protobufjs code generated from ONNX's
 * own onnx.proto), so the bytes are encoded by a maintained library. Everything that goes in
 * is derived from the model alone (no timestamps, no random names): the same model gives the
 * same bytes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX IR version 8 (ONNX 1.10), the newest the onnx-proto schema knows; ONNX Runtime reads it. */
const IR_VERSION = 8;
export const OPSET = 13;
/**
 * The exporter's version, stored as the file's producer_version: bump it whenever the graph
 * the exporter writes changes, so that model.onnx files written before are exported again.
 */
export const EXPORTER_VERSION = '1';
export const PRODUCER_NAME = 'loupe';

export type AttributeValue = number | number[] | string | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  /** The node's single output name; also its node name. */
  output: string;
  attributes?: Record<string, AttributeValue>;
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

function floatTensor(name: string, dims: number[], values: Float32Array): onnxProto.onnx.ITensorProto {
  // raw_data is little-endian float32; every platform Node runs Loupe on is little-endian.
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

/** Element types of the quantized graph's initializers (ONNX TensorProto.DataType). */
export type QuantizedElement = 'int8' | 'uint8' | 'int32';

function typedTensor(
  name: string,
  dims: number[],
  element: QuantizedElement,
  values: Int8Array | Uint8Array | Int32Array,
): onnxProto.onnx.ITensorProto {
  const { DataType } = onnx.TensorProto;
  const dataType = element === 'int8' ? DataType.INT8 : element === 'uint8' ? DataType.UINT8 : DataType.INT32;
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return { name, dims, dataType, rawData: raw };
}

function int64Tensor(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

function floatValueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet in this graph, derived from `base`. */
  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  addFloat(base: string, dims: number[], values: Float32Array): string {
    const name = this.uniqueName(base);
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  addTyped(
    base: string,
    dims: number[],
    element: QuantizedElement,
    values: Int8Array | Uint8Array | Int32Array,
  ): string {
    const name = this.uniqueName(base);
    this.initializers.push(typedTensor(name, dims, element, values));
    return name;
  }

  /** A boolean scalar initializer (e.g. Dropout's training_mode). */
  addBool(base: string, value: boolean): string {
    const name = this.uniqueName(base);
    this.initializers.push({
      name,
      dims: [],
      dataType: onnx.TensorProto.DataType.BOOL,
      rawData: Uint8Array.of(value ? 1 : 0),
    });
    return name;
  }

  addInt64(base: string, values: number[]): string {
    const name = this.uniqueName(base);
    this.initializers.push(int64Tensor(name, values));
    return name;
  }

  /** Adds a node and returns its output's name. */
  addNode(spec: NodeSpec): string {
    const output = this.uniqueName(spec.output);
    this.nodes.push({
      name: output,
      opType: spec.op,
      input: spec.inputs,
      output: [output],
      attribute: Object.entries(spec.attributes ?? {}).map(([name, value]) => attribute(name, value)),
    });
    return output;
  }

  /** Adds a node with several outputs (e.g. MaxPool's values and indices) and returns their names. */
  addMultiOutputNode(spec: Omit<NodeSpec, 'output'> & { outputs: string[] }): string[] {
    const outputs = spec.outputs.map((base) => this.uniqueName(base));
    this.nodes.push({
      name: outputs[0],
      opType: spec.op,
      input: spec.inputs,
      output: outputs,
      attribute: Object.entries(spec.attributes ?? {}).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /**
   * A model with several float32 inputs and outputs (the training graph). Each output is an
   * Identity of the node named `from`, so any node, or an input, may be an output.
   */
  encodeGraph(options: {
    graphName: string;
    inputs: { name: string; dims: (number | string)[] }[];
    outputs: { from: string; name: string; dims: (number | string)[] }[];
    docString: string;
  }): Uint8Array {
    for (const output of options.outputs)
      this.nodes.push({ name: output.name, opType: 'Identity', input: [output.from], output: [output.name] });
    return this.modelBytes({ ...options, metadata: {} });
  }

  /** The finished model as protobuf bytes. */
  encode(options: {
    graphName: string;
    input: { name: string; dims: (number | string)[] };
    output: { from: string; name: string; dims: (number | string)[] };
    docString: string;
    metadata: Record<string, string>;
  }): Uint8Array {
    // The last node is renamed to the public output name, so no Identity node is needed.
    const last = this.nodes.at(-1);
    if (!last || last.output?.[0] !== options.output.from) throw new Error('The graph must end at its output node.');
    last.output = [options.output.name];
    return this.modelBytes({
      graphName: options.graphName,
      docString: options.docString,
      metadata: options.metadata,
      inputs: [options.input],
      outputs: [options.output],
    });
  }

  private modelBytes(options: {
    graphName: string;
    docString: string;
    metadata: Record<string, string>;
    inputs: { name: string; dims: (number | string)[] }[];
    outputs: { name: string; dims: (number | string)[] }[];
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: PRODUCER_NAME,
      producerVersion: EXPORTER_VERSION,
      docString: options.docString,
      opsetImport: [{ domain: '', version: OPSET }],
      // Sorted so that the bytes do not depend on the order the caller built the object in.
      metadataProps: Object.keys(options.metadata)
        .sort()
        .map((key) => ({ key, value: options.metadata[key] })),
      graph: {
        name: options.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: options.inputs.map((input) => floatValueInfo(input.name, input.dims)),
        output: options.outputs.map((output) => floatValueInfo(output.name, output.dims)),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Decodes ONNX bytes (for tests and inspection). */
export function decodeOnnxModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
