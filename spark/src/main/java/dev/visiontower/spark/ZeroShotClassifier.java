package dev.visiontower.spark;

import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.InvalidInputException;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Zero-shot image classification as a Spark ML transformer: each image's most probable label among {@code labels}
 * (each put in {@code template}) and its probability (softmax over the labels for CLIP, an independent sigmoid for
 * SigLIP), as {@code visiontower classify}; optionally the image embedding too ({@code embeddingCol}), from the same
 * forward pass. Input and errors as {@link ImageEmbedder}. The labels' text embeddings are computed once per JVM.
 */
public final class ZeroShotClassifier extends VisionTowerTransformer<ZeroShotClassifier> {
    private static final long serialVersionUID = 1L;

    private final StringArrayParam labels;
    private final Param<String> template;
    private final Param<String> labelCol;
    private final Param<String> probabilityCol;
    private final Param<String> embeddingCol;
    private final BooleanParam exifTranspose;

    public ZeroShotClassifier() {
        this(Identifiable.randomUID("visiontowerZeroShotClassifier"));
    }

    public ZeroShotClassifier(String uid) {
        super(uid, "content");
        labels = new StringArrayParam(this, "labels", "candidate labels");
        template = new Param<>(this, "template", "prompt template; {} is replaced by the label");
        labelCol = new Param<>(this, "labelCol", "column for the most probable label");
        probabilityCol = new Param<>(this, "probabilityCol", "column for its probability (double)");
        embeddingCol = new Param<>(this, "embeddingCol", "also write the image embedding to this column (empty: no)");
        exifTranspose = new BooleanParam(this, "exifTranspose", "apply the EXIF orientation (see ImageEmbedder)");
        setDefault(template, "a photo of a {}.");
        setDefault(labelCol, "label");
        setDefault(probabilityCol, "probability");
        setDefault(embeddingCol, "");
        setDefault(exifTranspose, true);
    }

    public StringArrayParam labels() {
        return labels;
    }

    public Param<String> template() {
        return template;
    }

    public Param<String> labelCol() {
        return labelCol;
    }

    public Param<String> probabilityCol() {
        return probabilityCol;
    }

    public Param<String> embeddingCol() {
        return embeddingCol;
    }

    public BooleanParam exifTranspose() {
        return exifTranspose;
    }

    public ZeroShotClassifier setLabels(String... v) {
        set(labels, v);
        return this;
    }

    public ZeroShotClassifier setTemplate(String v) {
        set(template, v);
        return this;
    }

    public ZeroShotClassifier setLabelCol(String v) {
        set(labelCol, v);
        return this;
    }

    public ZeroShotClassifier setProbabilityCol(String v) {
        set(probabilityCol, v);
        return this;
    }

    public ZeroShotClassifier setEmbeddingCol(String v) {
        set(embeddingCol, v == null ? "" : v);
        return this;
    }

    public ZeroShotClassifier setExifTranspose(boolean v) {
        set(exifTranspose, v);
        return this;
    }

    private List<String> labelList() {
        if (!isDefined(labels) || getOrDefault(labels).length == 0) {
            throw new InvalidInputException("ZeroShotClassifier: labels are not set (at least one)");
        }
        List<String> out = new ArrayList<>();
        for (String l : getOrDefault(labels)) {
            if (l == null || l.isBlank()) {
                throw new InvalidInputException("ZeroShotClassifier: a label is empty");
            }
            out.add(l.strip());
        }
        return out;
    }

    private boolean withEmbedding() {
        return !getOrDefault(embeddingCol).isEmpty();
    }

    @Override
    public StructType transformSchema(StructType schema) {
        requireInput(schema, DataTypes.BinaryType, DataTypes.StringType);
        labelList();
        List<StructField> f = new ArrayList<>();
        if (withEmbedding()) {
            f.add(embeddingField(getOrDefault(embeddingCol)));
        }
        f.add(DataTypes.createStructField(getOrDefault(labelCol), DataTypes.StringType, true));
        f.add(DataTypes.createStructField(getOrDefault(probabilityCol), DataTypes.DoubleType, true));
        f.add(errorField(getErrorCol()));
        return append(schema, f.toArray(new StructField[0]));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        int batch = checkedBatch();
        ModelSpec spec = spec();
        LoadedModel model = SharedModels.get(spec); // on the driver first: fails before any task
        if (!model.model().hasText()) {
            throw new InvalidInputException(spec.modelPath() + ": this model has no text tower; zero-shot "
                    + "classification needs one");
        }
        List<String> names = labelList();
        String tpl = getOrDefault(template);
        StructType in = dataset.schema();
        DataType type = in.apply(getInputCol()).dataType();
        return dataset.toDF().mapPartitions(new ImagePartitions(spec, in.fieldIndex(getInputCol()),
                type.equals(DataTypes.BinaryType), Arrays.asList(in.fieldNames()).indexOf("path"), batch,
                getDecodeThreads(), (Boolean) getOrDefault(exifTranspose), withEmbedding(),
                getNormalize(), names, DualEncoder.prompts(tpl, names)), Encoders.row(out));
    }

    public static MLReader<ZeroShotClassifier> read() {
        return new DefaultParamsReader<>();
    }

    public static ZeroShotClassifier load(String path) {
        return read().load(path);
    }
}
