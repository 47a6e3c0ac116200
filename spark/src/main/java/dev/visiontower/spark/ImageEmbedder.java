package dev.visiontower.spark;

import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;

/**
 * Image embeddings as a Spark ML transformer: the input column holds image bytes (the {@code content} column of
 * {@code spark.read().format("binaryFile")}, the default) or paths (a string column, read through Hadoop's file
 * systems); the output column gets {@code array<float>}, the vectors {@code visiontower embed} writes (normalised
 * with {@code normalize}). A row whose image cannot be read gets a null embedding and the reason in the error
 * column. The model is loaded once per JVM; {@link #transform} loads it on the driver first, so a wrong path, an
 * unreadable checkpoint or a missing backend fails there, before any task starts.
 */
public final class ImageEmbedder extends VisionTowerTransformer<ImageEmbedder> {
    private static final long serialVersionUID = 1L;

    private final Param<String> outputCol;
    private final BooleanParam exifTranspose;

    public ImageEmbedder() {
        this(Identifiable.randomUID("visiontowerImageEmbedder"));
    }

    public ImageEmbedder(String uid) {
        super(uid, "content");
        outputCol = new Param<>(this, "outputCol", "embedding column (array<float>)");
        exifTranspose = new BooleanParam(this, "exifTranspose", "apply the EXIF orientation, as transformers' "
                + "load_image (false: the stored orientation, as open_clip and timm)");
        setDefault(outputCol, "embedding");
        setDefault(exifTranspose, true);
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public BooleanParam exifTranspose() {
        return exifTranspose;
    }

    public ImageEmbedder setOutputCol(String v) {
        set(outputCol, v);
        return this;
    }

    public ImageEmbedder setExifTranspose(boolean v) {
        set(exifTranspose, v);
        return this;
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        requireInput(schema, DataTypes.BinaryType, DataTypes.StringType);
        return append(schema, embeddingField(getOutputCol()), errorField(getErrorCol()));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        int batch = checkedBatch();
        ModelSpec spec = spec();
        SharedModels.get(spec); // on the driver: fails here, before any task, when the model cannot be loaded
        StructType in = dataset.schema();
        DataType type = in.apply(getInputCol()).dataType();
        int pathIndex = Arrays.asList(in.fieldNames()).indexOf("path");
        return dataset.toDF().mapPartitions(new ImagePartitions(spec, in.fieldIndex(getInputCol()),
                type.equals(DataTypes.BinaryType), pathIndex, batch, getDecodeThreads(),
                (Boolean) getOrDefault(exifTranspose), true, getNormalize(), null, null),
                Encoders.row(out));
    }

    public static MLReader<ImageEmbedder> read() {
        return new DefaultParamsReader<>();
    }

    public static ImageEmbedder load(String path) {
        return read().load(path);
    }
}
