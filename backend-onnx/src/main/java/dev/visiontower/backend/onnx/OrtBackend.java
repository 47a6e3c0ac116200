package dev.visiontower.backend.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.visiontower.api.Activation;
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
final class OrtBackend implements Backend, Ops {
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

    @Override
    public Ops ops() {
        return this;
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

    private OrtTensor t(Tensor x) {
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

    private static HostTensor scalar(float v) {
        return HostTensor.ofFloats(new float[] {v});
    }

    private static HostTensor longs(long... v) {
        return HostTensor.ofLongs(v, v.length);
    }

    private static int axis(int dim, int rank) {
        return ShapeRules.dim("dimension", dim, rank);
    }

    static long[] broadcast(long[] a, long[] b) {
        return ShapeRules.broadcast("broadcast", a, b);
    }

    private OrtTensor binary(String op, Tensor a, Tensor b) {
        return node(op, broadcast(t(a).dims(), t(b).dims()), t(a).type(), null, a, b);
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

    // ---- ops ----

    /** The shape of an operand of this backend (null for null), checked to be one of its own. */
    private long[] sh(Tensor x) {
        return x == null ? null : t(x).dims();
    }

    @Override
    public Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        ShapeRules.linear(sh(x), sh(weight), sh(bias));
        long[] xs = t(x).dims();
        long[] w = t(weight).dims();
        long[] out = xs.clone();
        out[out.length - 1] = w[0];
        if (t(weight).kind == OrtTensor.Kind.PARAMETER) {
            return product(x, ProductWeight.of(t(weight)), out[out.length - 1], bias);
        }
        OrtTensor y;
        {
            Protobuf perm = OnnxGraph.attrs();
            OnnxGraph.attrInts(perm, "perm", 1, 0);
            OrtTensor wt = node("Transpose", new long[] {w[1], w[0]}, DType.FLOAT32, perm, weight);
            y = node("MatMul", out, DType.FLOAT32, null, x, wt);
            wt.close();
        }
        if (bias == null) {
            return y;
        }
        OrtTensor r = node("Add", out, DType.FLOAT32, null, y, bias);
        y.close();
        return r;
    }

    /**
     * {@code x @ W^T + bias} for a weight the graph stores: MatMul on its float32 transpose (kept once, shared by every
     * session), or with int8 compute ONNX Runtime's DynamicQuantizeMatMul on its per-channel int8 quantisation (the
     * activations quantised per call to uint8 with their own scale and zero point, the scheme of ONNX Runtime's
     * dynamic quantisation). {@code bias} is a tensor, a derived initializer or null.
     */
    OrtTensor product(Tensor x, ProductWeight w, long n, Object bias) {
        long[] out = t(x).dims();
        out[out.length - 1] = n;
        Object b = bias instanceof Tensor ? t((Tensor) bias) : bias;
        if (int8) {
            return contrib("DynamicQuantizeMatMul", new long[][] {out}, new DType[] {DType.FLOAT32}, null, x,
                    w.int8(), w.int8Scales(), null, b)[0];
        }
        OrtTensor y = node("MatMul", out, DType.FLOAT32, null, x, w.transposed());
        if (b == null) {
            return y;
        }
        OrtTensor r = node("Add", out, DType.FLOAT32, null, y, b);
        y.close();
        return r;
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        ShapeRules.matmul(sh(a), sh(b));
        long[] as = t(a).dims();
        long[] bs = t(b).dims();
        long[] batch = broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        long[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = as[as.length - 2];
        out[batch.length + 1] = bs[bs.length - 1];
        return node("MatMul", out, t(a).type(), null, a, b);
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        ShapeRules.broadcast("add", sh(a), sh(b));
        return binary("Add", a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        ShapeRules.broadcast("sub", sh(a), sh(b));
        return binary("Sub", a, b);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        ShapeRules.broadcast("mul", sh(a), sh(b));
        return binary("Mul", a, b);
    }

    @Override
    public Tensor scale(Tensor x, double factor) {
        return node("Mul", t(x).dims(), t(x).type(), null, x, scalar((float) factor));
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        ShapeRules.normParameter("layerNorm", "weight", sh(x), sh(weight));
        ShapeRules.normParameter("layerNorm", "bias", sh(x), sh(bias));
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", -1);
        OnnxGraph.attrFloat(a, "epsilon", (float) eps);
        return node("LayerNormalization", t(x).dims(), DType.FLOAT32, a, x, weight, bias);
    }

    @Override
    public Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        ShapeRules.normParameter("rmsNorm", "weight", sh(x), sh(weight));
        long[] s = t(x).dims();
        long[] reduced = s.clone();
        reduced[reduced.length - 1] = 1;
        Protobuf keep = OnnxGraph.attrs();
        OnnxGraph.attrInt(keep, "keepdims", 1);
        try (TensorScope scope = newScope()) {
            Tensor sq = node("Mul", s, DType.FLOAT32, null, x, x);
            Tensor ms = node("ReduceMean", reduced, DType.FLOAT32, keep, sq, longs(-1));
            Tensor rms = node("Sqrt", reduced, DType.FLOAT32, null, node("Add", reduced, DType.FLOAT32, null, ms,
                    scalar((float) eps)));
            Tensor y = node("Div", s, DType.FLOAT32, null, x, rms);
            return scope.keep(node("Mul", s, DType.FLOAT32, null, y, weight));
        }
    }

    @Override
    public Tensor activation(Tensor x, Activation activation) {
        long[] s = t(x).dims();
        switch (activation) {
            case QUICK_GELU:
                try (TensorScope scope = newScope()) {
                    Tensor sig = node("Sigmoid", s, DType.FLOAT32, null, node("Mul", s, DType.FLOAT32, null, x,
                            scalar(1.702f)));
                    return scope.keep(node("Mul", s, DType.FLOAT32, null, x, sig));
                }
            case GELU:
            case GELU_TANH: {
                Protobuf a = OnnxGraph.attrs();
                OnnxGraph.attrString(a, "approximate", activation == Activation.GELU ? "none" : "tanh");
                return node("Gelu", s, DType.FLOAT32, a, x);
            }
            default:
                throw new AssertionError(activation);
        }
    }

    @Override
    public Tensor softmax(Tensor x, int dim) {
        ShapeRules.dim("softmax", dim, sh(x).length);
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", axis(dim, t(x).dims().length));
        return node("Softmax", t(x).dims(), t(x).type(), a, x);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        ShapeRules.attention(sh(q), sh(k), sh(v), sh(mask));
        long[] qs = t(q).dims();
        long[] ks = t(k).dims();
        long[] vs = t(v).dims();
        long b = Math.max(qs[0], ks[0]);
        long h = Math.max(qs[1], ks[1]);
        long[] scores = {b, h, qs[2], ks[2]};
        Protobuf perm = OnnxGraph.attrs();
        OnnxGraph.attrInts(perm, "perm", 0, 1, 3, 2);
        try (TensorScope scope = newScope()) {
            Tensor kt = node("Transpose", new long[] {ks[0], ks[1], ks[3], ks[2]}, DType.FLOAT32, perm, k);
            Tensor s = node("Mul", scores, DType.FLOAT32, null, node("MatMul", scores, DType.FLOAT32, null, q, kt),
                    scalar((float) scale));
            if (mask != null) {
                s = node("Add", broadcast(scores, t(mask).dims()), DType.FLOAT32, null, s, mask);
            }
            if (causal) {
                int nq = (int) qs[2];
                int nk = (int) ks[2];
                float[] c = new float[nq * nk];
                for (int i = 0; i < nq; i++) {
                    for (int j = i + 1; j < nk; j++) {
                        c[i * nk + j] = Float.NEGATIVE_INFINITY;
                    }
                }
                s = node("Add", t(s).dims(), DType.FLOAT32, null, s, HostTensor.ofFloats(c, nq, nk));
            }
            Protobuf a = OnnxGraph.attrs();
            OnnxGraph.attrInt(a, "axis", -1);
            Tensor p = node("Softmax", t(s).dims(), DType.FLOAT32, a, s);
            long[] out = {t(s).dims()[0], t(s).dims()[1], qs[2], vs[3]};
            return scope.keep(node("MatMul", out, DType.FLOAT32, null, p, v));
        }
    }

    @Override
    public Tensor patchEmbed(Tensor pixels, Tensor weight, Tensor bias, int patch) {
        ShapeRules.patchEmbed(sh(pixels), sh(weight), patch);
        long[] s = t(pixels).dims();
        long[] w = t(weight).dims();
        long gh = s[2] / patch;
        long gw = s[3] / patch;
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInts(a, "kernel_shape", patch, patch);
        OnnxGraph.attrInts(a, "strides", patch, patch);
        try (TensorScope scope = newScope()) {
            Tensor conv = bias == null
                    ? node("Conv", new long[] {s[0], w[0], gh, gw}, DType.FLOAT32, a, pixels, weight)
                    : node("Conv", new long[] {s[0], w[0], gh, gw}, DType.FLOAT32, a, pixels, weight, bias);
            Tensor flat = node("Reshape", new long[] {s[0], w[0], gh * gw}, DType.FLOAT32, null, conv,
                    longs(s[0], w[0], gh * gw));
            Protobuf perm = OnnxGraph.attrs();
            OnnxGraph.attrInts(perm, "perm", 0, 2, 1);
            return scope.keep(node("Transpose", new long[] {s[0], gh * gw, w[0]}, DType.FLOAT32, perm, flat));
        }
    }

    @Override
    public Tensor reshape(Tensor x, long... shape) {
        ShapeRules.reshape(sh(x), shape);
        long[] in = t(x).dims();
        long total = Shapes.numel(in);
        long[] out = shape.clone();
        int free = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                free = i;
            } else {
                known *= out[i];
            }
        }
        if (free >= 0) {
            out[free] = total / known;
        }
        return node("Reshape", out, t(x).type(), null, x, longs(out));
    }

    @Override
    public Tensor permute(Tensor x, int... dims) {
        ShapeRules.permute(sh(x), dims);
        long[] in = t(x).dims();
        long[] out = new long[dims.length];
        long[] perm = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            perm[i] = axis(dims[i], in.length);
            out[i] = in[(int) perm[i]];
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInts(a, "perm", perm);
        return node("Transpose", out, t(x).type(), a, x);
    }

    @Override
    public Tensor narrow(Tensor x, int dim, long start, long length) {
        ShapeRules.narrow(sh(x), dim, start, length);
        long[] in = t(x).dims();
        int ax = axis(dim, in.length);
        long[] out = in.clone();
        out[ax] = length;
        return node("Slice", out, t(x).type(), null, x, longs(start), longs(start + length), longs(ax));
    }

    @Override
    public Tensor concat(List<Tensor> xs, int dim) {
        ShapeRules.concat(xs.stream().map(this::sh).toList(), dim);
        long[] first = t(xs.get(0)).dims();
        int ax = axis(dim, first.length);
        long[] out = first.clone();
        out[ax] = 0;
        for (Tensor x : xs) {
            long[] s = t(x).dims();
            for (int i = 0; i < s.length; i++) {
            }
            out[ax] += s[ax];
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", ax);
        return node("Concat", out, t(xs.get(0)).type(), a, xs.toArray());
    }

    @Override
    public Tensor expand(Tensor x, long... shape) {
        ShapeRules.expand(sh(x), shape);
        long[] in = t(x).dims();
        long[] out = shape.clone();
        for (int i = 0; i < out.length; i++) {
            int j = i - (out.length - in.length);
            if (out[i] == -1) {
                out[i] = j >= 0 ? in[j] : 1;
            }
        }
        broadcast(in, out);
        return node("Expand", out, t(x).type(), null, x, longs(out));
    }

    @Override
    public Tensor mean(Tensor x, int dim) {
        ShapeRules.dim("mean", dim, sh(x).length);
        long[] in = t(x).dims();
        int ax = axis(dim, in.length);
        long[] out = new long[in.length - 1];
        for (int i = 0, j = 0; i < in.length; i++) {
            if (i != ax) {
                out[j++] = in[i];
            }
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "keepdims", 0);
        return node("ReduceMean", out, t(x).type(), a, x, longs(ax));
    }

    @Override
    public Tensor l2Normalize(Tensor x, int dim, double eps) {
        ShapeRules.dim("l2Normalize", dim, sh(x).length);
        long[] in = t(x).dims();
        int ax = axis(dim, in.length);
        long[] reduced = in.clone();
        reduced[ax] = 1;
        Protobuf keep = OnnxGraph.attrs();
        OnnxGraph.attrInt(keep, "keepdims", 1);
        try (TensorScope scope = newScope()) {
            Tensor ss = node("ReduceSum", reduced, DType.FLOAT32, keep, node("Mul", in, DType.FLOAT32, null, x, x),
                    longs(ax));
            Tensor n = node("Max", reduced, DType.FLOAT32, null, node("Sqrt", reduced, DType.FLOAT32, null, ss),
                    scalar((float) eps));
            return scope.keep(node("Div", in, DType.FLOAT32, null, x, n));
        }
    }

    @Override
    public Tensor resizeBicubic(Tensor x, int outH, int outW) {
        ShapeRules.resize(sh(x), outH, outW);
        long[] in = t(x).dims();
        long[] out = {in[0], in[1], outH, outW};
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrString(a, "mode", "cubic");
        OnnxGraph.attrFloat(a, "cubic_coeff_a", -0.75f);
        OnnxGraph.attrString(a, "coordinate_transformation_mode", "half_pixel");
        OnnxGraph.attrInt(a, "exclude_outside", 0);
        return node("Resize", out, DType.FLOAT32, a, x, null, null, longs(out));
    }

    @Override
    public Tensor embedding(Tensor table, Tensor ids) {
        ShapeRules.embedding(sh(table), sh(ids));
        long[] ts = t(table).dims();
        long[] is = t(ids).dims();
        long[] out = Arrays.copyOf(is, is.length + 1);
        out[is.length] = ts[1];
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", 0);
        return node("Gather", out, DType.FLOAT32, a, table, ids);
    }

    @Override
    public Tensor argmax(Tensor x, int dim) {
        ShapeRules.dim("argmax", dim, sh(x).length);
        long[] in = t(x).dims();
        int ax = axis(dim, in.length);
        long[] out = new long[in.length - 1];
        for (int i = 0, j = 0; i < in.length; i++) {
            if (i != ax) {
                out[j++] = in[i];
            }
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", ax);
        OnnxGraph.attrInt(a, "keepdims", 0);
        return node("ArgMax", out, DType.INT64, a, x);
    }

    @Override
    public Tensor equalTo(Tensor x, double value) {
        OrtTensor xt = t(x);
        HostTensor c = xt.type() == DType.INT64 ? HostTensor.ofLongs(new long[] {(long) value}) : scalar((float) value);
        Protobuf cast = OnnxGraph.attrs();
        OnnxGraph.attrInt(cast, "to", OnnxGraph.elemType(DType.FLOAT32));
        try (TensorScope scope = newScope()) {
            Tensor eq = node("Equal", xt.dims(), DType.UINT8, null, x, c); // bool, never read back
            return scope.keep(node("Cast", xt.dims(), DType.FLOAT32, cast, eq));
        }
    }

    @Override
    public Tensor gatherRows(Tensor x, Tensor index) {
        ShapeRules.gatherRows(sh(x), sh(index));
        long[] s = t(x).dims();
        long[] is = t(index).dims();
        long d = s.length == 3 ? s[2] : 1;
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", 1);
        try (TensorScope scope = newScope()) {
            Tensor idx = node("Expand", new long[] {s[0], 1, d}, DType.INT64, null,
                    node("Reshape", new long[] {s[0], 1, 1}, DType.INT64, null, index, longs(s[0], 1, 1)),
                    longs(s[0], 1, d));
            Tensor x3 = s.length == 3 ? x : node("Reshape", new long[] {s[0], s[1], 1}, t(x).type(), null, x,
                    longs(s[0], s[1], 1));
            Tensor picked = node("GatherElements", new long[] {s[0], 1, d}, t(x).type(), a, x3, idx);
            long[] out = s.length == 3 ? new long[] {s[0], d} : new long[] {s[0]};
            return scope.keep(node("Reshape", out, t(x).type(), null, picked, longs(out)));
        }
    }

    @Override
    public Tensor paddingMask(Tensor keep) {
        ShapeRules.paddingMask(sh(keep));
        long[] s = t(keep).dims();
        Protobuf cast = OnnxGraph.attrs();
        OnnxGraph.attrInt(cast, "to", OnnxGraph.elemType(DType.FLOAT32));
        try (TensorScope scope = newScope()) {
            Tensor f = node("Cast", s, DType.FLOAT32, cast, keep);
            Tensor inv = node("Sub", s, DType.FLOAT32, null, scalar(1f), f);
            Tensor m = node("Mul", s, DType.FLOAT32, null, inv, scalar(-Float.MAX_VALUE));
            return scope.keep(node("Reshape", new long[] {s[0], 1, 1, s[1]}, DType.FLOAT32, null, m,
                    longs(s[0], 1, 1, s[1])));
        }
    }

    @Override
    public Tensor exp(Tensor x) {
        return node("Exp", t(x).dims(), t(x).type(), null, x);
    }

    @Override
    public Tensor logSoftmax(Tensor x, int dim) {
        ShapeRules.dim("logSoftmax", dim, sh(x).length);
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "axis", axis(dim, t(x).dims().length));
        return node("LogSoftmax", t(x).dims(), t(x).type(), a, x);
    }

    @Override
    public Tensor logSigmoid(Tensor x) {
        long[] s = t(x).dims();
        try (TensorScope scope = newScope()) {
            Tensor sp = node("Softplus", s, DType.FLOAT32, null, node("Neg", s, DType.FLOAT32, null, x));
            return scope.keep(node("Neg", s, DType.FLOAT32, null, sp));
        }
    }

    @Override
    public Tensor sum(Tensor x) {
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "keepdims", 0);
        return node("ReduceSum", new long[0], t(x).type(), a, x);
    }

    @Override
    public Tensor diagonal(Tensor x) {
        ShapeRules.diagonal(sh(x));
        long[] s = t(x).dims();
        long n = Math.min(s[0], s[1]);
        float[] eye = new float[(int) (s[0] * s[1])];
        for (int i = 0; i < n; i++) {
            eye[(int) (i * s[1] + i)] = 1f;
        }
        Protobuf a = OnnxGraph.attrs();
        OnnxGraph.attrInt(a, "keepdims", 0);
        try (TensorScope scope = newScope()) {
            Tensor masked = node("Mul", s, DType.FLOAT32, null, x, HostTensor.ofFloats(eye, s));
            Tensor row = node("ReduceSum", new long[] {s[0]}, DType.FLOAT32, a, masked, longs(1));
            return scope.keep(n == s[0] ? row : node("Slice", new long[] {n}, DType.FLOAT32, null, row, longs(0),
                    longs(n), longs(0)));
        }
    }
}
