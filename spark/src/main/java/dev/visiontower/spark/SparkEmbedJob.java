package dev.visiontower.spark;

import dev.visiontower.api.VisionTowerException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code visiontower spark-embed}: embeds a folder (or any Hadoop glob) of images, or the lines of text files, with
 * Spark, and writes Parquet with {@code path}, {@code embedding} and {@code error} (plus {@code label} and
 * {@code probability} with {@code --labels}). Local mode unless a master is given or set by {@code spark-submit}.
 */
@Command(name = "spark-embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Embed images (or texts) with Apache Spark and write Parquet: path, embedding, error.")
public final class SparkEmbedJob implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Checkpoint directory (config.json + safetensors); on a cluster, a path every executor "
                    + "can read.")
    String model;

    @Option(names = "--input", required = true, paramLabel = "GLOB",
            description = "Images (or text files with --text): a file, a folder or a glob, on any file system "
                    + "Spark reads (file:, hdfs:, s3a:, ...).")
    String input;

    @Option(names = "--output", required = true, paramLabel = "OUT.parquet", description = "Parquet output.")
    String output;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master (default: the one spark-submit sets, else local[*]).")
    String master;

    @Option(names = "--text", description = "The input is text files: one text per line.")
    boolean text;

    @Option(names = "--labels", split = ",", paramLabel = "LABEL",
            description = "Zero-shot labels (comma-separated): adds label and probability columns.")
    List<String> labels;

    @Option(names = "--template", defaultValue = "a photo of a {}.", description = "Prompt template for --labels.")
    String template;

    @Option(names = "--backend", description = "Backend (default: -Dvisiontower.backend, $VISIONTOWER_BACKEND, else "
            + "the best available on each executor).")
    String backend;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or cuda:N.")
    String device;

    @Option(names = "--dtype", defaultValue = "float32", description = "float32, bfloat16 or int8.")
    String dtype;

    @Option(names = "--batch", defaultValue = "0",
            description = "Rows per forward pass (default: the backend's preferred size, 16 on a CPU, 64 on a GPU).")
    int batch;

    @Option(names = "--decode-threads", paramLabel = "N", description = "Image-decoding threads per executor JVM.")
    Integer decodeThreads;

    @Option(names = "--normalize", description = "L2-normalise the embeddings.")
    boolean normalize;

    @Option(names = "--no-exif-transpose", description = "Keep the stored orientation (open_clip, timm).")
    boolean noExifTranspose;

    @Option(names = "--partitions", paramLabel = "N", description = "Repartition the input into N partitions.")
    Integer partitions;

    @Option(names = "--overwrite", description = "Replace OUT if it exists.")
    boolean overwrite;

    private final PrintWriter out;

    SparkEmbedJob(PrintWriter out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the job; returns the exit code (0 done, 2 bad input or model, 1 anything else). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new SparkEmbedJob(out));
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            VisionTowerException v = cause(ex);
            if (v != null) {
                err.println("visiontower: error: " + String.valueOf(v.getMessage()).replaceAll("\\s*\\R\\s*", " "));
                return 2;
            }
            if (ex.getClass().getName().equals("org.apache.spark.sql.AnalysisException")) {
                err.println("visiontower: error: " + String.valueOf(ex.getMessage()).replaceAll("\\s*\\R\\s*", " "));
                return 2;
            }
            err.println("visiontower: internal error: " + ex);
            ex.printStackTrace(err);
            return 1;
        });
        return cl.execute(args);
    }

    private static VisionTowerException cause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof VisionTowerException v) {
                return v;
            }
        }
        return null;
    }

    @Override
    public Integer call() {
        SparkSession.Builder b = SparkSession.builder().appName("visiontower spark-embed");
        if (master != null) {
            b.master(master);
        } else if (System.getProperty("spark.master") == null) {
            b.master("local[*]");
        }
        SparkSession spark = b.getOrCreate();
        try {
            return run(spark);
        } finally {
            spark.stop();
        }
    }

    int run(SparkSession spark) {
        long t0 = System.nanoTime();
        Dataset<Row> in;
        Dataset<Row> result;
        if (text) {
            in = spark.read().format("text").load(input)
                    .select(functions.col("_metadata.file_path").as("path"), functions.col("value").as("text"));
            in = partitions == null ? in : in.repartition(partitions);
            TextEmbedder t = configure(new TextEmbedder()).setNormalize(normalize);
            result = t.transform(in).select("path", "text", "embedding", "error");
        } else {
            in = spark.read().format("binaryFile").load(input).select("path", "content");
            in = partitions == null ? in : in.repartition(partitions);
            List<Column> cols = new ArrayList<>(List.of(functions.col("path"), functions.col("embedding")));
            if (labels != null && !labels.isEmpty()) {
                ZeroShotClassifier z = configure(new ZeroShotClassifier()).setLabels(labels.toArray(new String[0]))
                        .setTemplate(template).setEmbeddingCol("embedding").setNormalize(normalize)
                        .setExifTranspose(!noExifTranspose);
                result = z.transform(in);
                cols.add(functions.col("label"));
                cols.add(functions.col("probability"));
            } else {
                result = configure(new ImageEmbedder()).setNormalize(normalize).setExifTranspose(!noExifTranspose)
                        .transform(in);
            }
            cols.add(functions.col("error"));
            result = result.select(cols.toArray(new Column[0]));
        }
        result.write().mode(overwrite ? SaveMode.Overwrite : SaveMode.ErrorIfExists).parquet(output);
        double secs = (System.nanoTime() - t0) / 1e9;
        Dataset<Row> written = spark.read().parquet(output);
        Row counts = written.agg(functions.count(functions.lit(1)), functions.count(functions.col("error"))).first();
        long rows = counts.getLong(0);
        long errors = counts.getLong(1); // count(column) counts its non-null values
        out.printf(Locale.ROOT, "wrote %d row(s) to %s in %.1f s (%.2f %s/s); %d with an error%n", rows, output, secs,
                rows / secs, text ? "texts" : "images", errors);
        if (errors > 0) {
            written.filter(functions.col("error").isNotNull()).select("error").limit(5).collectAsList()
                    .forEach(r -> out.println("  " + r.getString(0)));
        }
        return 0;
    }

    private <T extends VisionTowerTransformer<T>> T configure(T t) {
        t.setModelPath(model).setBackend(backend).setDevice(device).setDtype(dtype).setBatchSize(batch);
        if (decodeThreads != null) {
            t.setDecodeThreads(decodeThreads);
        }
        if (text) {
            t.setInputCol("text");
        }
        return t;
    }
}
