package dev.visiontower.spark;

import dev.visiontower.api.InvalidInputException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Text embeddings as a Spark ML transformer: the input column ({@code text}) holds strings; the output column gets
 * the vectors {@code visiontower embed-text} writes (normalised with {@code normalize}). A null text gets a null
 * embedding and a reason in the error column. The model is loaded once per JVM, on the driver first.
 */
public final class TextEmbedder extends VisionTowerTransformer<TextEmbedder> {
    private static final long serialVersionUID = 1L;

    private final Param<String> outputCol;

    public TextEmbedder() {
        this(Identifiable.randomUID("visiontowerTextEmbedder"));
    }

    public TextEmbedder(String uid) {
        super(uid, "text");
        outputCol = new Param<>(this, "outputCol", "embedding column (array<float>)");
        setDefault(outputCol, "embedding");
    }

    public Param<String> outputCol() {
        return outputCol;
    }

    public TextEmbedder setOutputCol(String v) {
        set(outputCol, v);
        return this;
    }

    public String getOutputCol() {
        return getOrDefault(outputCol);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        requireInput(schema, DataTypes.StringType);
        return append(schema, embeddingField(getOutputCol()), errorField(getErrorCol()));
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        int batch = checkedBatch();
        ModelSpec spec = spec();
        if (!SharedModels.get(spec).model().hasText()) {
            throw new InvalidInputException(spec.modelPath() + ": this model has no text tower");
        }
        return dataset.toDF().mapPartitions(new Partitions(spec, dataset.schema().fieldIndex(getInputCol()), batch,
                getNormalize()), Encoders.row(out));
    }

    public static MLReader<TextEmbedder> read() {
        return new DefaultParamsReader<>();
    }

    public static TextEmbedder load(String path) {
        return read().load(path);
    }

    /** One partition of texts, in batches. */
    private record Partitions(ModelSpec spec, int index, int batch, boolean normalize)
            implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            LoadedModel model = SharedModels.get(spec);
            return new BatchedRows<Void>(rows, model.batch(batch), new BatchedRows.Stage<>() {
                @Override
                public Void prepare(List<Row> in) {
                    return null;
                }

                @Override
                public List<Row> finish(List<Row> in, Void unused) {
                    List<String> texts = new ArrayList<>();
                    for (Row r : in) {
                        if (!r.isNullAt(index)) {
                            texts.add(r.getString(index));
                        }
                    }
                    float[][] e = texts.isEmpty() ? new float[0][] : model.texts(texts, normalize);
                    List<Row> out = new ArrayList<>(in.size());
                    int k = 0;
                    for (Row r : in) {
                        List<Object> v = new ArrayList<>(r.size() + 2);
                        for (int c = 0; c < r.size(); c++) {
                            v.add(r.get(c));
                        }
                        boolean good = !r.isNullAt(index);
                        v.add(good ? e[k++] : null);
                        v.add(good ? null : "no text (null)");
                        out.add(RowFactory.create(v.toArray()));
                    }
                    return out;
                }
            });
        }
    }
}
