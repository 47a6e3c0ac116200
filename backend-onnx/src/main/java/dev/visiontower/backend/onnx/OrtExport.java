package dev.visiontower.backend.onnx;

import dev.visiontower.api.DType;
import dev.visiontower.api.GraphExport;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.checkpoint.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes traced computations as standalone ONNX files: placeholders become graph inputs with named dynamic axes,
 * weights become initializers (stored in {@code <file>.data} when they would make the file larger than protobuf's
 * 2 GB limit), and the requested tensors become the named outputs.
 */
final class OrtExport implements GraphExport {
    /** Values that stand for a dynamic axis while tracing; chosen to be unlike any real dimension. */
    private static final long[] SENTINELS = {7919, 7927, 7933, 7937, 7949, 7951};
    private static final long MAX_INLINE_BYTES = 1_800_000_000L;

    private final OrtBackend backend;
    private final Map<Long, OrtTensor> placeholders = new ConcurrentHashMap<>();
    private final Map<Long, String> axisNames = new ConcurrentHashMap<>();

    OrtExport(OrtBackend backend) {
        this.backend = backend;
    }

    @Override
    public synchronized Tensor placeholder(String name, DType dtype, String dynamicAxis, long... shape) {
        long[] dims = shape.clone();
        long sentinel = -1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (sentinel < 0) {
                    sentinel = nextSentinel();
                    axisNames.put(sentinel, dynamicAxis);
                }
                dims[i] = sentinel;
            } else if (dims[i] < 0) {
                throw new InvalidInputException("placeholder '" + name + "': bad dimension " + dims[i]);
            }
        }
        OrtTensor t = backend.placeholder(name, dtype, dims);
        if (sentinel >= 0) {
            placeholders.put(sentinel, t);
        }
        return t;
    }

    private long nextSentinel() {
        for (long s : SENTINELS) {
            if (!placeholders.containsKey(s) && !axisNames.containsKey(s)) {
                return s;
            }
        }
        throw new InvalidInputException("too many dynamic placeholders (at most " + SENTINELS.length + ")");
    }

    @Override
    public synchronized void export(Map<String, Tensor> outputs, Path file, int opset) {
        if (opset < OnnxGraph.OPSET || opset > 26) {
            throw new InvalidInputException("opset " + opset + " is not supported: the graph uses ai.onnx "
                    + OnnxGraph.OPSET + " operators (Gelu, LayerNormalization) and ONNX Runtime 1.29 reads up to 26");
        }
        OrtBackend.GraphBuild g = backend.new GraphBuild(placeholders);
        List<String[]> outs = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
            OrtTensor t = backend.own(e.getValue());
            outs.add(new String[] {g.visit(t), e.getKey()});
        }
        Protobuf graph = new Protobuf();
        for (Protobuf n : g.nodes) {
            graph.message(1, n);
        }
        for (String[] o : outs) {
            graph.message(1, OnnxGraph.node("Identity", "", new String[] {o[0]}, o[1], null));
        }
        graph.string(2, "visiontower");
        for (Protobuf c : g.constants) {
            graph.message(5, c);
        }
        Map<String, HostTensor> stored = new LinkedHashMap<>();
        for (Map.Entry<OrtTensor, String> e : g.parameters.entrySet()) {
            stored.put(e.getValue(), e.getKey().value);
        }
        for (Map.Entry<String, OrtTensor.Derived> e : g.derived.entrySet()) {
            stored.put(e.getKey(), e.getValue().value());
        }
        long weightBytes = 0;
        for (HostTensor h : stored.values()) {
            weightBytes += h.numel() * h.dtype().byteSize();
        }
        Path abs = file.toAbsolutePath();
        boolean external = weightBytes > MAX_INLINE_BYTES;
        Path dataFile = abs.resolveSibling(abs.getFileName() + ".data");
        try {
            if (abs.getParent() != null) {
                Files.createDirectories(abs.getParent());
            }
            if (external) {
                Path tmpData = AtomicFiles.newSiblingFile(dataFile);
                try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmpData), 1 << 20)) {
                    long offset = 0;
                    for (Map.Entry<String, HostTensor> e : stored.entrySet()) {
                        byte[] raw = OnnxGraph.rawBytes(e.getValue());
                        out.write(raw);
                        graph.message(5, OnnxGraph.tensorInFile(e.getKey(), e.getValue(),
                                dataFile.getFileName().toString(), offset, raw.length));
                        offset += raw.length;
                    }
                }
                Files.move(tmpData, dataFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } else {
                for (Map.Entry<String, HostTensor> e : stored.entrySet()) {
                    graph.message(5, OnnxGraph.tensor(e.getKey(), e.getValue()));
                }
            }
            Map<Long, String> symbolic = new LinkedHashMap<>(axisNames);
            for (Map.Entry<OrtTensor, String> e : g.inputs.entrySet()) {
                graph.message(11, OnnxGraph.valueInfo(e.getValue(), e.getKey().type(), e.getKey().dims(), symbolic));
            }
            int i = 0;
            for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
                OrtTensor t = backend.own(e.getValue());
                graph.message(12, OnnxGraph.valueInfo(outs.get(i++)[1], t.type(), t.dims(), symbolic));
            }
            byte[] model = OnnxGraph.model(graph, opset);
            Path tmp = AtomicFiles.newSiblingFile(abs);
            try {
                Files.write(tmp, model);
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
