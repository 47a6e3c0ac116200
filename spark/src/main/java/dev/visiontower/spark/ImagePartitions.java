package dev.visiontower.spark;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImageLoadOptions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * One partition of images through the model: bytes from a binary column ({@code spark.read.format("binaryFile")}'s
 * {@code content}) or read from the path in a string column (any Hadoop file system), decoded and preprocessed on
 * the JVM's decode pool a batch ahead, embedded in batches; an image that cannot be read or decoded gets nulls and
 * its reason in the error column, the others go on. Output: the input row, then the embedding (if asked), the label
 * and probability (with labels), the error.
 */
final class ImagePartitions implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;
    /** Largest image file read into one array. */
    private static final long MAX_BYTES = Integer.MAX_VALUE - 16;

    private final ModelSpec spec;
    private final int inputIndex;
    private final boolean binary;
    private final int pathIndex;
    private final int batch;
    private final int threads;
    private final boolean exifTranspose;
    private final boolean emitEmbedding;
    private final boolean normalize;
    private final List<String> labels;
    private final List<String> prompts;

    /** What one image became: pixels {@code [1, 3, H, W]}, or the reason it has none. */
    private record Decoded(HostTensor pixels, String error) {
    }

    ImagePartitions(ModelSpec spec, int inputIndex, boolean binary, int pathIndex, int batch, int threads,
                    boolean exifTranspose, boolean emitEmbedding, boolean normalize, List<String> labels,
                    List<String> prompts) {
        this.spec = spec;
        this.inputIndex = inputIndex;
        this.binary = binary;
        this.pathIndex = pathIndex;
        this.batch = batch;
        this.threads = threads;
        this.exifTranspose = exifTranspose;
        this.emitEmbedding = emitEmbedding;
        this.normalize = normalize;
        this.labels = labels == null ? null : new ArrayList<>(labels);
        this.prompts = prompts == null ? null : new ArrayList<>(prompts);
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        LoadedModel model = SharedModels.get(spec);
        var pool = SharedModels.decodePool(threads);
        ImageLoadOptions load = exifTranspose ? ImageLoadOptions.HUGGING_FACE : ImageLoadOptions.STORED_ORIENTATION;
        return new BatchedRows<List<Future<Decoded>>>(rows, model.batch(batch), new BatchedRows.Stage<>() {
            @Override
            public List<Future<Decoded>> prepare(List<Row> in) {
                List<Future<Decoded>> out = new ArrayList<>(in.size());
                for (Row r : in) {
                    out.add(CompletableFuture.supplyAsync(() -> decode(r, model, load), pool));
                }
                return out;
            }

            @Override
            public List<Row> finish(List<Row> in, List<Future<Decoded>> prepared) {
                return run(in, prepared, model);
            }
        });
    }

    private String name(Row r) {
        if (!binary) {
            return r.isNullAt(inputIndex) ? "row with a null path" : r.getString(inputIndex);
        }
        return pathIndex >= 0 && !r.isNullAt(pathIndex) ? String.valueOf(r.get(pathIndex)) : "image";
    }

    private Decoded decode(Row r, LoadedModel model, ImageLoadOptions load) {
        String name = name(r);
        try {
            byte[] bytes;
            if (r.isNullAt(inputIndex)) {
                return new Decoded(null, name + ": no image (null " + (binary ? "content" : "path") + ")");
            } else if (binary) {
                bytes = (byte[]) r.get(inputIndex);
            } else {
                bytes = read(r.getString(inputIndex));
            }
            return new Decoded(model.preprocessor().apply(ImageDecoding.decode(bytes, name, load)), null);
        } catch (InvalidInputException e) {
            return new Decoded(null, e.getMessage());
        } catch (IOException | IllegalArgumentException e) {
            return new Decoded(null, name + ": " + e.getMessage());
        } catch (OutOfMemoryError e) {
            return new Decoded(null, name + ": too large to decode in this executor's heap (" + e.getMessage() + ")");
        }
    }

    /** The JVM's Hadoop configuration (core-site.xml and the like on the class path), made once. */
    private static volatile Configuration hadoop;

    private static Configuration hadoop() {
        Configuration c = hadoop;
        if (c == null) {
            c = new Configuration();
            hadoop = c;
        }
        return c;
    }

    private static byte[] read(String path) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        FileSystem fs = p.getFileSystem(hadoop());
        long n = fs.getFileStatus(p).getLen();
        if (n > MAX_BYTES) {
            throw new IOException("the file is " + n + " bytes, more than one image can be read as (2 GB)");
        }
        byte[] b = new byte[(int) n];
        try (FSDataInputStream in = fs.open(p)) {
            in.readFully(0, b);
        }
        return b;
    }

    private List<Row> run(List<Row> in, List<Future<Decoded>> prepared, LoadedModel model) {
        Decoded[] d = new Decoded[in.size()];
        List<HostTensor> ok = new ArrayList<>();
        for (int i = 0; i < d.length; i++) {
            d[i] = await(prepared.get(i));
            if (d[i].pixels() != null) {
                if (!ok.isEmpty() && !java.util.Arrays.equals(ok.get(0).shape(), d[i].pixels().shape())) {
                    d[i] = new Decoded(null, name(in.get(i)) + ": preprocessed to " + java.util.Arrays.toString(
                            d[i].pixels().shape()) + ", unlike the batch's " + java.util.Arrays.toString(
                            ok.get(0).shape()));
                } else {
                    ok.add(d[i].pixels());
                }
            }
        }
        LoadedModel.ImageResult res = ok.isEmpty() ? null
                : model.images(HostTensor.concat0(ok), normalize, prompts);
        List<Row> out = new ArrayList<>(in.size());
        int k = 0;
        for (int i = 0; i < d.length; i++) {
            Row r = in.get(i);
            List<Object> v = new ArrayList<>(r.size() + 4);
            for (int c = 0; c < r.size(); c++) {
                v.add(r.get(c));
            }
            boolean good = d[i].pixels() != null;
            if (emitEmbedding) {
                v.add(good ? res.embeddings()[k] : null);
            }
            if (labels != null) {
                if (good) {
                    float[] p = res.probabilities()[k];
                    int best = 0;
                    for (int j = 1; j < p.length; j++) {
                        best = p[j] > p[best] ? j : best;
                    }
                    v.add(labels.get(best));
                    v.add((double) p[best]);
                } else {
                    v.add(null);
                    v.add(null);
                }
            }
            v.add(good ? null : d[i].error());
            k += good ? 1 : 0;
            out.add(RowFactory.create(v.toArray()));
        }
        return out;
    }

    private static Decoded await(Future<Decoded> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while decoding", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof RuntimeException re ? re : new IllegalStateException(c);
        }
    }
}
