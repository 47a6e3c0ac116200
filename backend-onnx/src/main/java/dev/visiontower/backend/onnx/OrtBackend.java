package dev.visiontower.backend.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.VisionTowerException;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.Operands;
import dev.visiontower.api.spi.ShapeRules;
import dev.visiontower.api.spi.TensorRegistry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The ONNX Runtime backend: every operation records a node; reading a result compiles the pending graph (once per
 * structure and shapes) and runs it. Weights are shared with every compiled session without copies.
 */
final class OrtBackend implements Backend {
    static final String THREADS_PROPERTY = "visiontower.onnx.threads";
    static final String CACHE_PROPERTY = "visiontower.onnx.cacheSize";
    /** A folder that receives each compiled graph as ONNX Runtime optimised it ({@code <digest>.onnx}), for study. */
    static final String DUMP_PROPERTY = "visiontower.onnx.optimizedModelDir";
    /** A file prefix: each compiled session writes ONNX Runtime's per-operator profile ({@code <prefix>_<date>.json}). */
    static final String PROFILE_PROPERTY = "visiontower.onnx.profile";

    private final OrtEnvironment env;
    private final int threads;
    /** int8 products (DynamicQuantizeMatMul) instead of float32 MatMul. */
    private final boolean int8;
    static final String FUSIONS_OPTION = "fusions";
    static final String SPIN_OPTION = "spin";
    /** Whether ONNX Runtime's intra-op threads busy-wait between operators (option {@code spin}). */
    private final boolean spin;
    /** The transformer-operator fusions of this backend's blocks (option {@code fusions}). */
    private final Set<OrtBlock.Fusion> fusions;
    private final TensorRegistry registry = new TensorRegistry();
    private final AtomicLong ids = new AtomicLong();
    private final Set<OrtTensor> pending = ConcurrentHashMap.newKeySet();
    private final Map<String, Compiled> cache;
    private final int cacheSize;
    private volatile boolean closed;
    /**
     * Native staging memory for graph inputs, reused by every run (guarded by {@code this}). ONNX Runtime copies a heap
     * buffer into a fresh direct buffer that only the garbage collector frees; feeding from buffers the backend owns
     * keeps the per-pass native footprint fixed instead of tied to the collector's schedule.
     */
    private final List<ByteBuffer> staging = new ArrayList<>();

    /** A compiled graph: the session and the order of its inputs. */
    private record Compiled(OrtSession session, Set<Long> parameterIds) {
    }

    OrtBackend(OrtEnvironment env, BackendOptions options) {
        if (options.device().kind() != Device.Kind.CPU) {
            throw new InvalidInputException("backend 'onnx' runs on the CPU in this build (the gpu profile brings "
                    + "onnxruntime_gpu), not on " + options.device());
        }
        if (options.dtype() != DType.FLOAT32 && options.dtype() != DType.INT8) {
            throw new dev.visiontower.api.UnsupportedCapabilityException(OrtBackendProvider.NAME,
                    options.dtype() == DType.BFLOAT16 ? Capability.BFLOAT16 : Capability.FLOAT16,
                    options.dtype() + " compute on the CPU");
        }
        this.int8 = options.dtype() == DType.INT8;
        this.fusions = OrtBlock.Fusion.parse(options.extra().getOrDefault(FUSIONS_OPTION, "all"));
        this.layers = dev.visiontower.api.nn.LayerFactory.withBlocks(
                (spec, p, reference) -> new OrtBlock(this, spec, p, reference, fusions));
        String sp = options.extra().getOrDefault(SPIN_OPTION, "false");
        if (!sp.equals("true") && !sp.equals("false")) {
            throw new InvalidInputException("onnx option " + SPIN_OPTION + " must be true or false, got '" + sp + "'");
        }
        this.spin = sp.equals("true");
        this.env = env;
        int t = options.threads();
        if (t == 0) {
            t = Integer.getInteger(THREADS_PROPERTY, 0);
        }
        // ONNX Runtime's own default counts physical cores, which leaves half of a 2-vCPU machine idle
        this.threads = t > 0 ? t : Runtime.getRuntime().availableProcessors();
        this.cacheSize = Math.max(1, Integer.getInteger(CACHE_PROPERTY, 8));
        this.cache = new LinkedHashMap<>(16, 0.75f, true);
    }

    @Override
    public String name() {
        return OrtBackendProvider.NAME;
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public DType dtype() {
        return int8 ? DType.INT8 : DType.FLOAT32;
    }

    @Override
    public dev.visiontower.api.Tolerance tolerance() {
        return dev.visiontower.api.Tolerance.forDType(dtype());
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.INFERENCE, Capability.FLOAT32, Capability.INT8, Capability.GRAPH_COMPILATION);
    }

    private final OrtOps ops = new OrtOps(this);

    @Override
    public Ops ops() {
        return ops;
    }

    /** {@code x @ W^T + bias} on a stored weight (see {@link OrtOps#product}). */
    OrtTensor product(Tensor x, ProductWeight w, long n, Object bias) {
        return ops.product(x, w, n, bias);
    }

    @Override
    public dev.visiontower.api.nn.LayerFactory layers() {
        return layers;
    }

    /** The reference layers, with blocks recorded with ONNX Runtime's transformer operators. */
    private final dev.visiontower.api.nn.LayerFactory layers;

    @Override
    public TensorScope newScope() {
        return registry.newScope();
    }

    @Override
    public long liveTensors() {
        return registry.live();
    }

    /** Number of compiled sessions held (for tests and diagnostics). */
    synchronized int compiledSessions() {
        return cache.size();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        staging.clear();
        for (Compiled c : cache.values()) {
            closeQuietly(c.session());
        }
        cache.clear();
    }

    private static void closeQuietly(OrtSession s) {
        try {
            s.close();
        } catch (OrtException ignored) {
            // a session that fails to close holds nothing we can release
        }
    }

    // ---- tensors ----

    @Override
    public Tensor fromHost(HostTensor host) {
        return leaf(host, OrtTensor.Kind.INPUT, null, true);
    }

    @Override
    public Tensor parameter(String name, HostTensor host) {
        if (host.dtype() != DType.FLOAT32) {
            throw new InvalidInputException("parameter '" + name + "' must be float32, got " + host.dtype());
        }
        return leaf(host, OrtTensor.Kind.PARAMETER, name, false);
    }

    private OrtTensor leaf(HostTensor host, OrtTensor.Kind kind, String label, boolean scoped) {
        if (host.dtype() != DType.FLOAT32 && host.dtype() != DType.INT64) {
            throw new InvalidInputException("backend 'onnx' takes float32 or int64 tensors, got " + host.dtype());
        }
        return new OrtTensor(this, registry, ids.incrementAndGet(), kind, label, host.shape(), host.dtype(), host, null,
                scoped);
    }

    private final OrtExport export = new OrtExport(this);

    @Override
    public dev.visiontower.api.GraphExport graphExport() {
        return export;
    }

    /** An input without values, for tracing graphs to export. */
    OrtTensor placeholder(String name, DType dtype, long[] shape) {
        return new OrtTensor(this, registry, ids.incrementAndGet(), OrtTensor.Kind.INPUT, name, shape, dtype, null, null,
                true);
    }

    /** The tensor as this backend's own, checked. */
    OrtTensor own(Tensor x) {
        return t(x);
    }

    void released(OrtTensor t) {
        pending.remove(t);
        if (t.kind == OrtTensor.Kind.PARAMETER) {
            evictSessionsUsing(t.id);
        }
    }

    private synchronized void evictSessionsUsing(long parameterId) {
        cache.values().removeIf(c -> {
            if (c.parameterIds().contains(parameterId)) {
                closeQuietly(c.session());
                return true;
            }
            return false;
        });
    }

    OrtTensor t(Tensor x) {
        OrtTensor o = Operands.own(this, OrtTensor.class, x);
        if (o.isClosed()) {
            throw new IllegalStateException("tensor " + Shapes.format(o.dims()) + " of backend 'onnx' is closed");
        }
        return o;
    }

    /**
     * Records a node; inputs are tensors of this backend, derived initializers, constant host tensors, or null
     * (omitted).
     */
    OrtTensor node(String op, long[] shape, DType dtype, Protobuf attributes, Object... inputs) {
        return nodeOutputs(op, "", new long[][] {shape}, new DType[] {dtype}, attributes, inputs)[0];
    }

    boolean int8() {
        return int8;
    }

    /** A block output recorded as {@code sum + branch (+ bias)}, so the next block can fuse the add into its norm. */
    record Residual(Tensor sum, Tensor branch, Object bias) {
    }

    private final Map<OrtTensor, Residual> residuals = java.util.Collections.synchronizedMap(
            new java.util.WeakHashMap<>());

    void residual(Tensor out, Residual r) {
        residuals.put(t(out), r);
    }

    /** How {@code x} was made, if a block recorded it and its parts are still open; else null. */
    Residual residualOf(Tensor x) {
        Residual r = residuals.get(t(x));
        return r == null || r.sum().isClosed() || r.branch().isClosed() ? null : r;
    }

    /** A Split node into parts of the given shapes (equal split along {@code axis}). */
    OrtTensor[] splitNode(Tensor x, Protobuf attributes, long[]... shapes) {
        DType[] types = new DType[shapes.length];
        java.util.Arrays.fill(types, t(x).type());
        return nodeOutputs("Split", "", shapes, types, attributes, x);
    }

    /** Records a node of ONNX Runtime's contrib domain ({@code com.microsoft}) with the given outputs. */
    OrtTensor[] contrib(String op, long[][] shapes, DType[] dtypes, Protobuf attributes, Object... inputs) {
        return nodeOutputs(op, OnnxGraph.MICROSOFT, shapes, dtypes, attributes, inputs);
    }

    private OrtTensor[] nodeOutputs(String op, String domain, long[][] shapes, DType[] dtypes, Protobuf attributes,
                                    Object... inputs) {
        List<Object> in = new ArrayList<>(inputs.length);
        for (Object o : inputs) {
            in.add(o instanceof Tensor ? t((Tensor) o) : o);
        }
        OrtTensor.Node n = new OrtTensor.Node(op, domain, shapes.length, in, attributes);
        OrtTensor[] out = new OrtTensor[shapes.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = new OrtTensor(this, registry, ids.incrementAndGet(), OrtTensor.Kind.COMPUTED, null, shapes[i],
                    dtypes[i], null, n, true);
            out[i].outputIndex = i;
            pending.add(out[i]);
        }
        return out;
    }

    static long[] broadcast(long[] a, long[] b) {
        return ShapeRules.broadcast("broadcast", a, b);
    }

    // ---- graph execution ----

    /** Computes every pending result (the requested one included) with one session run. */
    synchronized void flush(OrtTensor requested) {
        if (requested.value != null) {
            return;
        }
        if (closed) {
            throw new IllegalStateException("backend 'onnx' is closed");
        }
        List<OrtTensor> outputs = new ArrayList<>();
        for (OrtTensor p : pending) {
            if (!dependsOnPlaceholder(p)) {
                outputs.add(p);
            }
        }
        if (!outputs.contains(requested)) {
            if (dependsOnPlaceholder(requested)) {
                throw new IllegalStateException("this tensor depends on an export placeholder and has no values");
            }
            outputs.add(requested);
        }
        outputs.sort((x, y) -> Long.compare(x.id, y.id));
        GraphBuild g = new GraphBuild();
        for (OrtTensor o : outputs) {
            g.visit(o);
        }
        Compiled compiled = compile(g, outputs);
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            int slot = 0;
            for (Map.Entry<OrtTensor, String> e : g.inputs.entrySet()) {
                feeds.put(e.getValue(), stagedTensor(slot++, e.getKey().value));
            }
            Set<String> names = new java.util.LinkedHashSet<>();
            for (OrtTensor o : outputs) {
                names.add(g.names.get(o));
            }
            try (OrtSession.Result r = compiled.session().run(feeds, names)) {
                for (OrtTensor o : outputs) {
                    OnnxValue v = r.get(g.names.get(o)).orElseThrow();
                    o.value = toHost((OnnxTensor) v, o);
                    o.producer = null;
                    pending.remove(o);
                }
            }
        } catch (OrtException e) {
            if (dev.visiontower.api.OutOfMemoryException.isOutOfMemory(e.getMessage())) {
                throw new dev.visiontower.api.OutOfMemoryException("onnx: out of memory running the graph: "
                        + e.getMessage(), e);
            }
            throw new VisionTowerException("onnx: running the graph failed: " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /** Whether a pending result needs an export placeholder (it can be exported, not computed). */
    private static boolean dependsOnPlaceholder(OrtTensor t) {
        java.util.ArrayDeque<OrtTensor> todo = new java.util.ArrayDeque<>();
        Set<OrtTensor> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        todo.push(t);
        while (!todo.isEmpty()) {
            OrtTensor x = todo.pop();
            if (!seen.add(x)) {
                continue;
            }
            OrtTensor.Node n = x.producer;
            if (n == null) {
                if (x.value == null) {
                    return true;
                }
                continue;
            }
            for (Object o : n.inputs()) {
                if (o instanceof OrtTensor) {
                    todo.push((OrtTensor) o);
                }
            }
        }
        return false;
    }

    /**
     * A feed backed by staging buffer {@code slot}, grown when too small; valid until the next run (only one run is in
     * flight: {@link #flush} is synchronized and closes its feeds before returning).
     */
    private OnnxTensor stagedTensor(int slot, HostTensor h) throws OrtException {
        long bytes = Shapes.numel(h.shape()) * 8L / (h.dtype() == DType.FLOAT32 ? 2 : 1);
        if (bytes > Integer.MAX_VALUE) {
            return onnxTensor(h);
        }
        while (staging.size() <= slot) {
            staging.add(null);
        }
        ByteBuffer buf = staging.get(slot);
        if (buf == null || buf.capacity() < bytes) {
            buf = ByteBuffer.allocateDirect((int) Math.max(bytes, 64)).order(ByteOrder.nativeOrder());
            staging.set(slot, buf);
        }
        ByteBuffer view = buf.slice(0, (int) bytes).order(ByteOrder.nativeOrder());
        if (h.dtype() == DType.FLOAT32) {
            FloatBuffer f = view.asFloatBuffer();
            f.put(h.floats()).rewind();
            return OnnxTensor.createTensor(env, f, h.shape());
        }
        LongBuffer l = view.asLongBuffer();
        l.put(h.longs()).rewind();
        return OnnxTensor.createTensor(env, l, h.shape());
    }

    private OnnxTensor onnxTensor(HostTensor h) throws OrtException {
        if (h.dtype() == DType.FLOAT32) {
            return OnnxTensor.createTensor(env, FloatBuffer.wrap(h.floats()), h.shape());
        }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(h.longs()), h.shape());
    }

    private static HostTensor toHost(OnnxTensor v, OrtTensor expected) throws OrtException {
        long[] shape = v.getInfo().getShape();
        if (!Arrays.equals(shape, expected.dims())) {
            throw new VisionTowerException("onnx: internal shape mismatch: ONNX Runtime computed "
                    + Shapes.format(shape) + " where " + Shapes.format(expected.dims()) + " was recorded");
        }
        if (expected.type() == DType.INT64) {
            LongBuffer b = v.getLongBuffer();
            long[] out = new long[b.remaining()];
            b.get(out);
            return HostTensor.ofLongs(out, shape);
        }
        FloatBuffer b = v.getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return HostTensor.ofFloats(out, shape);
    }

    /**
     * The subgraph needed by a set of outputs, with local names and a structural key. For running, leaves with values
     * are fed inputs and weights are external initializers; for export ({@code placeholders != null}), placeholders are
     * the inputs, every leaf with values is stored in the graph, and shape constants holding a placeholder's
     * dynamic-axis sentinel are computed from that input's shape at run time.
     */
    final class GraphBuild {
        final Map<OrtTensor, String> names = new IdentityHashMap<>();
        final Map<OrtTensor, String> inputs = new LinkedHashMap<>();
        final Map<OrtTensor, String> parameters = new LinkedHashMap<>();
        /** Names of the outputs of nodes already emitted (several tensors may share a multi-output node). */
        private final Map<OrtTensor.Node, String[]> emitted = new IdentityHashMap<>();
        /** Initializers derived from parameters (transposes, packed or quantised weights) by graph name. */
        final Map<String, OrtTensor.Derived> derived = new LinkedHashMap<>();
        private final Map<String, String> derivedNames = new HashMap<>();
        final List<Protobuf> nodes = new ArrayList<>();
        final List<Protobuf> constants = new ArrayList<>();
        final StringBuilder key = new StringBuilder();
        private final Map<Long, OrtTensor> placeholders;
        private final Map<OrtTensor, String> dynamicDims = new IdentityHashMap<>();
        private final Set<String> used = new HashSet<>();
        int values;

        GraphBuild() {
            this(null);
        }

        /** @param placeholders dynamic-axis sentinel value to its placeholder (export mode), or null */
        GraphBuild(Map<Long, OrtTensor> placeholders) {
            this.placeholders = placeholders;
        }

        private String unique(String base) {
            String n = base;
            for (int i = 1; !used.add(n); i++) {
                n = base + "_" + i;
            }
            return n;
        }

        String visit(OrtTensor t) {
            String known = names.get(t);
            if (known != null) {
                return known;
            }
            String name;
            if (t.isLeaf()) {
                if (placeholders != null) {
                    if (t.value == null) {
                        name = unique(t.label);
                        inputs.put(t, name);
                    } else {
                        name = unique(t.label != null ? t.label : "const" + constants.size());
                        parameters.put(t, name);
                    }
                } else if (t.kind == OrtTensor.Kind.PARAMETER) {
                    name = "w" + parameters.size();
                    parameters.put(t, name);
                    key.append("P").append(t.id);
                } else {
                    name = "in" + inputs.size();
                    inputs.put(t, name);
                    key.append("I").append(t.type());
                }
                key.append(Arrays.toString(t.dims())).append(';');
            } else {
                OrtTensor.Node n = t.producer;
                String[] done = emitted.get(n);
                if (done != null) {
                    names.put(t, done[t.outputIndex]);
                    return done[t.outputIndex];
                }
                String[] in = new String[n.inputs().size()];
                for (int i = 0; i < in.length; i++) {
                    Object o = n.inputs().get(i);
                    if (o == null) {
                        in[i] = "";
                    } else if (o instanceof OrtTensor) {
                        in[i] = visit((OrtTensor) o);
                    } else if (o instanceof OrtTensor.Derived) {
                        in[i] = visitDerived((OrtTensor.Derived) o);
                    } else {
                        in[i] = constant((HostTensor) o);
                    }
                }
                String[] outs = new String[n.outputs()];
                for (int i = 0; i < outs.length; i++) {
                    outs[i] = unique("v" + values++);
                }
                emitted.put(n, outs);
                name = outs[t.outputIndex];
                nodes.add(OnnxGraph.node(n.op(), n.domain(), in, outs, n.attributes()));
                key.append(n.domain()).append(n.op()).append(Arrays.toString(in)).append("->")
                        .append(Arrays.toString(outs));
                if (n.attributes() != null) {
                    key.append('{').append(Arrays.hashCode(n.attributes().toByteArray())).append('}');
                }
                key.append(';');
            }
            names.put(t, name);
            return name;
        }

        private String visitDerived(OrtTensor.Derived d) {
            String id = d.owner().id + "/" + d.key();
            String known = derivedNames.get(id);
            if (known != null) {
                return known;
            }
            String name = placeholders != null ? unique(d.owner().label + "." + d.key())
                    : unique("d" + derived.size());
            derivedNames.put(id, name);
            derived.put(name, d);
            key.append("D").append(id).append(';');
            return name;
        }

        private String constant(HostTensor c) {
            key.append("C").append(c.dtype()).append(Arrays.toString(c.shape()))
                    .append(Arrays.hashCode(OnnxGraph.rawBytes(c))).append(';');
            if (placeholders != null && c.dtype() == DType.INT64 && c.rank() == 1) {
                long[] v = c.longs();
                boolean dynamic = false;
                for (long x : v) {
                    dynamic |= placeholders.containsKey(x);
                }
                if (dynamic) {
                    return dynamicShape(v);
                }
            }
            String name = unique("c" + constants.size());
            constants.add(OnnxGraph.tensor(name, c));
            return name;
        }

        /** A shape vector computed at run time: sentinel entries read the placeholder's dynamic dimension. */
        private String dynamicShape(long[] v) {
            String[] parts = new String[v.length];
            for (int i = 0; i < v.length; i++) {
                OrtTensor p = placeholders.get(v[i]);
                if (p != null) {
                    parts[i] = dynamicDim(p);
                } else {
                    String c = unique("c" + constants.size());
                    constants.add(OnnxGraph.tensor(c, HostTensor.ofLongs(new long[] {v[i]}, 1)));
                    parts[i] = c;
                }
            }
            Protobuf a = OnnxGraph.attrs();
            OnnxGraph.attrInt(a, "axis", 0);
            String out = unique("shape" + values++);
            nodes.add(OnnxGraph.node("Concat", "", parts, out, a));
            return out;
        }

        /** {@code Slice(Shape(placeholder), [i], [i+1])} for the placeholder's dynamic axis, emitted once. */
        private String dynamicDim(OrtTensor p) {
            String known = dynamicDims.get(p);
            if (known != null) {
                return known;
            }
            String input = visit(p);
            long[] d = p.dims();
            int axisIndex = 0;
            for (int i = 0; i < d.length; i++) {
                if (placeholders.containsKey(d[i])) {
                    axisIndex = i;
                }
            }
            String shape = unique(input + "_shape");
            nodes.add(OnnxGraph.node("Shape", "", new String[] {input}, shape, null));
            String[] bounds = new String[3];
            for (int k = 0; k < 3; k++) {
                bounds[k] = unique("c" + constants.size());
                long v = k == 0 ? axisIndex : k == 1 ? axisIndex + 1 : 0;
                constants.add(OnnxGraph.tensor(bounds[k], HostTensor.ofLongs(new long[] {v}, 1)));
            }
            String dim = unique(input + "_dim" + axisIndex);
            nodes.add(OnnxGraph.node("Slice", "", new String[] {shape, bounds[0], bounds[1], bounds[2]}, dim, null));
            dynamicDims.put(p, dim);
            return dim;
        }
    }

    private Compiled compile(GraphBuild g, List<OrtTensor> outputs) {
        StringBuilder key = new StringBuilder(g.key).append("OUT");
        for (OrtTensor o : outputs) {
            key.append(g.names.get(o)).append(',');
        }
        String digest = sha256(key.toString());
        Compiled c = cache.get(digest);
        if (c != null) {
            return c;
        }
        Protobuf graph = new Protobuf();
        for (Protobuf n : g.nodes) {
            graph.message(1, n);
        }
        graph.string(2, "visiontower");
        for (Protobuf k : g.constants) {
            graph.message(5, k);
        }
        for (Map.Entry<OrtTensor, String> e : g.inputs.entrySet()) {
            graph.message(11, OnnxGraph.valueInfo(e.getValue(), e.getKey().type(), e.getKey().dims(), "batch"));
        }
        for (Map.Entry<OrtTensor, String> e : g.parameters.entrySet()) {
            graph.message(5, OnnxGraph.externalTensor(e.getValue(), e.getKey().type(), e.getKey().dims(),
                    Shapes.numel(e.getKey().dims()) * 4));
        }
        Map<String, OnnxTensor> derivedTensors = new LinkedHashMap<>();
        for (Map.Entry<String, OrtTensor.Derived> e : g.derived.entrySet()) {
            OnnxTensor t = e.getValue().owner().derivedShared(e.getValue(), env);
            derivedTensors.put(e.getKey(), t);
            DType dt = OnnxGraph.dtypeOf(t);
            long[] shape = t.getInfo().getShape();
            graph.message(5, OnnxGraph.externalTensor(e.getKey(), dt, shape, Shapes.numel(shape) * dt.byteSize()));
        }
        for (OrtTensor o : outputs) {
            graph.message(12, OnnxGraph.valueInfo(g.names.get(o), o.type(), o.dims(), "batch"));
        }
        byte[] model = OnnxGraph.model(graph, OnnxGraph.OPSET);
        Set<Long> paramIds = new HashSet<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            String profile = System.getProperty(PROFILE_PROPERTY);
            if (profile != null) {
                opts.enableProfiling(profile);
            }
            String dump = System.getProperty(DUMP_PROPERTY);
            if (dump != null) {
                java.nio.file.Files.createDirectories(java.nio.file.Path.of(dump));
                opts.setOptimizedModelFilePath(java.nio.file.Path.of(dump, digest.substring(0, 16) + ".onnx")
                        .toString());
            }
            if (threads > 0) {
                opts.setIntraOpNumThreads(threads);
            }
            opts.setInterOpNumThreads(1);
            opts.addConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
            Map<String, ai.onnxruntime.OnnxTensorLike> external = new HashMap<>();
            for (Map.Entry<OrtTensor, String> e : g.parameters.entrySet()) {
                external.put(e.getValue(), shared(e.getKey()));
                paramIds.add(e.getKey().id);
            }
            external.putAll(derivedTensors);
            for (OrtTensor.Derived d : g.derived.values()) {
                paramIds.add(d.owner().id);
            }
            if (!external.isEmpty()) {
                opts.addExternalInitializers(external);
            }
            OrtSession session = env.createSession(model, opts);
            c = new Compiled(session, paramIds);
        } catch (OrtException e) {
            throw new VisionTowerException("onnx: compiling the graph failed: " + e.getMessage(), e);
        } catch (java.io.IOException e) {
            throw new VisionTowerException("onnx: cannot write the optimised graph to " + System.getProperty(
                    DUMP_PROPERTY) + ": " + e.getMessage(), e);
        }
        cache.put(digest, c);
        if (cache.size() > cacheSize) {
            var it = cache.entrySet().iterator();
            Compiled old = it.next().getValue();
            it.remove();
            closeQuietly(old.session());
        }
        return c;
    }

    /** The weight as a native tensor over a direct buffer, created once and shared by every session. */
    private OnnxTensor shared(OrtTensor p) throws OrtException {
        synchronized (p) {
            if (p.shared == null) {
                float[] f = p.value.floats();
                FloatBuffer direct = ByteBuffer.allocateDirect(f.length * 4).order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
                direct.put(f).flip();
                p.shared = OnnxTensor.createTensor(env, direct, p.dims());
            }
            return p.shared;
        }
    }

    private static String sha256(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            StringBuilder sb = new StringBuilder();
            for (byte b : d) {
                sb.append(String.format("%02x", b));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
