package dev.visiontower.spark;

import dev.visiontower.api.InvalidInputException;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;

/**
 * What the visiontower transformers share: the model (path, backend, device, dtype), the batch size, the input and
 * error columns. Every parameter is a Spark ML {@code Param}, so the transformers live in a saved
 * {@code Pipeline}; the model is loaded by each JVM from {@code modelPath} (saved with the pipeline as a path, not
 * as weights).
 */
abstract class VisionTowerTransformer<S extends VisionTowerTransformer<S>> extends Transformer
        implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> backend;
    private final Param<String> device;
    private final Param<String> dtype;
    private final IntParam batchSize;
    private final IntParam decodeThreads;
    private final Param<String> inputCol;
    private final Param<String> errorCol;
    private final BooleanParam normalize;

    VisionTowerTransformer(String uid, String defaultInput) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "checkpoint directory (config.json + safetensors), readable by "
                + "every executor");
        backend = new Param<>(this, "backend", "backend name; empty: -Dvisiontower.backend, $VISIONTOWER_BACKEND, "
                + "else the best available on each JVM");
        device = new Param<>(this, "device", "device: cpu, cuda or cuda:N");
        dtype = new Param<>(this, "dtype", "compute dtype: float32, bfloat16 or int8");
        batchSize = new IntParam(this, "batchSize", "rows per forward pass; 0: the backend's preferred size on each JVM "
                + "(16 on a CPU, 64 on a GPU)");
        decodeThreads = new IntParam(this, "decodeThreads", "image-decoding threads per JVM (>= 1)");
        inputCol = new Param<>(this, "inputCol", "input column");
        errorCol = new Param<>(this, "errorCol", "column for the reason a row failed (null when it did not)");
        normalize = new BooleanParam(this, "normalize", "L2-normalise the embeddings written");
        setDefault(backend, "");
        setDefault(device, "cpu");
        setDefault(dtype, "float32");
        setDefault(batchSize, 0);
        setDefault(decodeThreads, Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
        setDefault(inputCol, defaultInput);
        setDefault(errorCol, "error");
        setDefault(normalize, false);
    }

    @Override
    public String uid() {
        return uid;
    }

    public Param<String> modelPath() {
        return modelPath;
    }

    public Param<String> backend() {
        return backend;
    }

    public Param<String> device() {
        return device;
    }

    public Param<String> dtype() {
        return dtype;
    }

    public IntParam batchSize() {
        return batchSize;
    }

    public IntParam decodeThreads() {
        return decodeThreads;
    }

    public Param<String> inputCol() {
        return inputCol;
    }

    public Param<String> errorCol() {
        return errorCol;
    }

    public BooleanParam normalize() {
        return normalize;
    }

    public S setNormalize(boolean v) {
        set(normalize, v);
        return self();
    }

    public boolean getNormalize() {
        return (Boolean) getOrDefault(normalize);
    }

    @SuppressWarnings("unchecked")
    final S self() {
        return (S) this;
    }

    public S setModelPath(String v) {
        set(modelPath, v);
        return self();
    }

    /** Empty or null: the JVM's default (property, environment, else the best available). */
    public S setBackend(String v) {
        set(backend, v == null ? "" : v);
        return self();
    }

    public S setDevice(String v) {
        set(device, v);
        return self();
    }

    public S setDtype(String v) {
        set(dtype, v);
        return self();
    }

    public S setBatchSize(int v) {
        set(batchSize, v);
        return self();
    }

    public S setDecodeThreads(int v) {
        set(decodeThreads, v);
        return self();
    }

    public S setInputCol(String v) {
        set(inputCol, v);
        return self();
    }

    public S setErrorCol(String v) {
        set(errorCol, v);
        return self();
    }

    public String getModelPath() {
        return (String) getOrDefault(modelPath);
    }

    public String getInputCol() {
        return getOrDefault(inputCol);
    }

    public String getErrorCol() {
        return getOrDefault(errorCol);
    }

    public int getBatchSize() {
        return (Integer) getOrDefault(batchSize);
    }

    /** The model this transformer runs, as every JVM will load it. */
    ModelSpec spec() {
        if (!isDefined(modelPath)) {
            throw new InvalidInputException(getClass().getSimpleName() + ": modelPath is not set (the checkpoint "
                    + "directory: config.json + safetensors)");
        }
        String b = getOrDefault(backend);
        return new ModelSpec(getOrDefault(modelPath), b == null || b.isBlank() ? null : b, getOrDefault(device),
                getOrDefault(dtype));
    }

    int checkedBatch() {
        int b = getBatchSize();
        if (b < 0) {
            throw new InvalidInputException("batchSize must be >= 1 (or 0: the backend's preferred size), got " + b);
        }
        int t = (Integer) getOrDefault(decodeThreads);
        if (t < 1) {
            throw new InvalidInputException("decodeThreads must be >= 1, got " + t);
        }
        return b;
    }

    int getDecodeThreads() {
        return (Integer) getOrDefault(decodeThreads);
    }

    /** The input column's type, checked to be one of {@code allowed}. */
    DataType requireInput(StructType schema, DataType... allowed) {
        String col = getInputCol();
        if (!Arrays.asList(schema.fieldNames()).contains(col)) {
            throw new InvalidInputException(getClass().getSimpleName() + ": no input column '" + col + "' (columns: "
                    + String.join(", ", schema.fieldNames()) + "); set inputCol");
        }
        DataType t = schema.apply(col).dataType();
        if (!Arrays.asList(allowed).contains(t)) {
            throw new InvalidInputException(getClass().getSimpleName() + ": input column '" + col + "' is "
                    + t.simpleString() + ", expected " + String.join(" or ", Arrays.stream(allowed)
                    .map(DataType::simpleString).toList()));
        }
        return t;
    }

    /** {@code schema} with {@code fields} appended, none of which may exist already. */
    static StructType append(StructType schema, StructField... fields) {
        StructType out = schema;
        for (StructField f : fields) {
            if (Arrays.asList(out.fieldNames()).contains(f.name())) {
                throw new InvalidInputException("output column '" + f.name() + "' already exists; choose another name");
            }
            out = out.add(f);
        }
        return out;
    }

    static StructField embeddingField(String name) {
        return DataTypes.createStructField(name, DataTypes.createArrayType(DataTypes.FloatType, false), true);
    }

    static StructField errorField(String name) {
        return DataTypes.createStructField(name, DataTypes.StringType, true);
    }

    @Override
    public S copy(ParamMap extra) {
        return defaultCopy(extra);
    }
}
