package dev.visiontower.spark;

import com.fasterxml.jackson.databind.JsonNode;
import dev.visiontower.api.VisionTowerException;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.visiontower.spark.SparkFixtures.fileName;
import static dev.visiontower.spark.SparkFixtures.maxDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transformers in Spark's local mode with two cores, against what the CLI writes for the same inputs. */
class SparkTransformersTest {
    private static final double ATOL = 1e-5; // same backend, same float32 arithmetic: the documented bound

    @TempDir
    static Path tmp;
    static SparkSession spark;
    static Path images;
    static Map<String, float[]> expected;
    static final AtomicInteger TASKS = new AtomicInteger();

    @BeforeAll
    static void start() throws Exception {
        images = SparkFixtures.images(tmp);
        expected = SparkFixtures.embed(images, tmp, false);
        spark = SparkSession.builder().master("local[2]").appName("visiontower-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskStart(SparkListenerTaskStart taskStart) {
                TASKS.incrementAndGet();
            }
        });
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        SharedModels.closeAll();
    }

    private static Dataset<Row> binaryFiles() {
        // two partitions, so that both task slots run and share the JVM's one model
        return spark.read().format("binaryFile").load(images.toString()).repartition(2);
    }

    private static ImageEmbedder embedder() {
        return new ImageEmbedder().setModelPath(SparkFixtures.model().toString()).setBatchSize(3);
    }

    /** file name -> row, checking the counts and the corrupt image's row. */
    private static Map<String, Row> byName(List<Row> rows, String errorCol, String valueCol) {
        assertEquals(9, rows.size(), "one output row per input row");
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            m.put(fileName(r.getAs("path")), r);
        }
        Row bad = m.get("09-corrupt.png");
        assertNotNull(bad.getAs(errorCol), "the corrupt image's error");
        assertTrue(bad.<String>getAs(errorCol).contains("09-corrupt.png"), bad.<String>getAs(errorCol));
        assertNull(bad.getAs(valueCol));
        return m;
    }

    private static float[] floats(Row r, String col) {
        List<Object> l = r.getList(r.fieldIndex(col));
        float[] v = new float[l.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (Float) l.get(i);
        }
        return v;
    }

    private static double compare(Map<String, Row> rows, Map<String, float[]> want, String col) {
        double worst = 0;
        for (var e : want.entrySet()) {
            Row r = rows.get(e.getKey());
            assertNull(r.getAs("error"), e.getKey());
            worst = Math.max(worst, maxDiff(floats(r, col), e.getValue()));
        }
        return worst;
    }

    @Test
    void imageEmbeddingsEqualEmbedAndACorruptImageLandsInError() {
        Dataset<Row> out = embedder().transform(binaryFiles());
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, false), out.schema().apply("embedding").dataType());
        Map<String, Row> rows = byName(out.collectAsList(), "error", "embedding");
        double d = compare(rows, expected, "embedding");
        System.out.printf("spark ImageEmbedder vs embed: 8 images, max |diff| %.2g%n", d);
        assertTrue(d <= ATOL, "max |diff| " + d);
        assertEquals(8, expected.size());
    }

    @Test
    void normalisedEmbeddingsEqualEmbedNormalize() throws Exception {
        Map<String, float[]> want = SparkFixtures.embed(images, tmp, true);
        Map<String, Row> rows = byName(embedder().setNormalize(true).transform(binaryFiles()).collectAsList(),
                "error", "embedding");
        assertTrue(compare(rows, want, "embedding") <= ATOL);
    }

    @Test
    void aPathColumnIsReadLikeBinaryContent() {
        List<Row> in = new ArrayList<>();
        try (var s = Files.list(images)) {
            s.sorted().forEach(p -> in.add(RowFactory.create(p.toString())));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        in.add(RowFactory.create(images.resolve("missing.png").toString()));
        StructType schema = new StructType().add("path", DataTypes.StringType);
        Dataset<Row> df = spark.createDataFrame(in, schema).repartition(2);
        // the default batch: the backend's preferred size
        List<Row> rows = new ImageEmbedder().setModelPath(SparkFixtures.model().toString()).setInputCol("path")
                .setOutputCol("vec").setErrorCol("why").transform(df).collectAsList();
        assertEquals(10, rows.size());
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            m.put(fileName(r.getAs("path")), r);
        }
        assertTrue(m.get("missing.png").<String>getAs("why").contains("missing.png"), m.get("missing.png").toString());
        assertNotNull(m.get("09-corrupt.png").getAs("why"));
        for (var e : expected.entrySet()) {
            assertNull(m.get(e.getKey()).getAs("why"), e.getKey());
            assertTrue(maxDiff(floats(m.get(e.getKey()), "vec"), e.getValue()) <= ATOL, e.getKey());
        }
    }

    @Test
    void textEmbeddingsEqualEmbedText() throws Exception {
        List<String> texts = List.of("a photo of a red triangle.", "a photo of a green star.", "a blue circle");
        Path out = tmp.resolve("texts.jsonl");
        List<String> args = new ArrayList<>(List.of("embed-text", "--model", SparkFixtures.model().toString(),
                "--output", out.toString()));
        texts.forEach(t -> {
            args.add("--text");
            args.add(t);
        });
        SparkFixtures.cli(args.toArray(new String[0]));
        Map<String, float[]> want = new HashMap<>();
        for (String line : Files.readAllLines(out)) {
            JsonNode n = SparkFixtures.JSON.readTree(line);
            want.put(n.get("text").asText(), SparkFixtures.floats(n.get("embedding")));
        }
        List<Row> in = new ArrayList<>();
        texts.forEach(t -> in.add(RowFactory.create(t)));
        in.add(RowFactory.create((Object) null));
        Dataset<Row> df = spark.createDataFrame(in, new StructType().add("text", DataTypes.StringType)).repartition(2);
        List<Row> rows = new TextEmbedder().setModelPath(SparkFixtures.model().toString()).setBatchSize(2)
                .transform(df).collectAsList();
        assertEquals(4, rows.size());
        double worst = 0;
        for (Row r : rows) {
            if (r.isNullAt(0)) {
                assertNull(r.getAs("embedding"));
                assertNotNull(r.getAs("error"));
                continue;
            }
            assertNull(r.getAs("error"));
            worst = Math.max(worst, maxDiff(floats(r, "embedding"), want.get(r.<String>getAs("text"))));
        }
        System.out.printf("spark TextEmbedder vs embed-text: max |diff| %.2g%n", worst);
        assertTrue(worst <= ATOL, "max |diff| " + worst);
    }

    @Test
    void zeroShotEqualsClassify() throws Exception {
        String labels = "red triangle,green star,blue circle,yellow star,purple triangle";
        List<String> args = new ArrayList<>(List.of("classify", "--model", SparkFixtures.model().toString(),
                "--labels", labels, "--template", "a photo of a {}.", "--top", "1", "--json"));
        expected.keySet().forEach(n -> args.add(images.resolve(n).toString()));
        JsonNode cli = SparkFixtures.JSON.readTree(SparkFixtures.cli(args.toArray(new String[0])));
        List<Row> rows = new ZeroShotClassifier().setModelPath(SparkFixtures.model().toString())
                .setLabels(labels.split(",")).setBatchSize(4).setEmbeddingCol("embedding")
                .transform(binaryFiles()).collectAsList();
        Map<String, Row> m = byName(rows, "error", "label");
        for (JsonNode r : cli.get("results")) {
            Row row = m.get(fileName(r.get("image").asText()));
            JsonNode top = r.get("top").get(0);
            assertEquals(top.get("label").asText(), row.getAs("label"));
            assertEquals(top.get("probability").asDouble(), row.<Double>getAs("probability"), 1e-5);
            assertTrue(maxDiff(floats(row, "embedding"), expected.get(fileName(row.getAs("path")))) <= ATOL);
        }
    }

    @Test
    void aSavedPipelineReloadsAndGivesTheSameOutput() throws Exception {
        Pipeline p = new Pipeline().setStages(new PipelineStage[] {embedder().setNormalize(true).setOutputCol("e")});
        Dataset<Row> in = binaryFiles();
        PipelineModel fitted = p.fit(in);
        Path saved = tmp.resolve("pipeline");
        fitted.write().overwrite().save(saved.toString());
        PipelineModel back = PipelineModel.load(saved.toString());
        ImageEmbedder stage = (ImageEmbedder) back.stages()[0];
        assertEquals(SparkFixtures.model().toString(), stage.getModelPath());
        assertEquals(3, stage.getBatchSize());
        assertEquals("e", stage.getOutputCol());
        Map<String, Row> a = byName(fitted.transform(in).collectAsList(), "error", "e");
        Map<String, Row> b = byName(back.transform(in).collectAsList(), "error", "e");
        for (String n : expected.keySet()) {
            assertTrue(Arrays.equals(floats(a.get(n), "e"), floats(b.get(n), "e")), n);
        }
        // a stage saved on its own reloads too
        ImageEmbedder alone = embedder().setDtype("float32");
        alone.write().overwrite().save(tmp.resolve("stage").toString());
        assertEquals(alone.getModelPath(), ImageEmbedder.load(tmp.resolve("stage").toString()).getModelPath());
    }

    @Test
    void aBadModelFailsOnTheDriverBeforeAnyTask() throws Exception {
        Dataset<Row> in = binaryFiles();
        in.count(); // the listing's own tasks, before counting
        Thread.sleep(200); // listener events are delivered asynchronously
        int before = TASKS.get();
        VisionTowerException e = assertThrows(VisionTowerException.class,
                () -> embedder().setModelPath(tmp.resolve("no-such-model").toString()).transform(in));
        assertTrue(e.getMessage().contains("no such model directory"), e.getMessage());
        // the sample model with its weights cut in half: an unloadable checkpoint
        Path broken = Files.createDirectories(tmp.resolve("broken-model"));
        try (var s = Files.list(SparkFixtures.model())) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                Files.copy(f, broken.resolve(f.getFileName()));
            }
        }
        byte[] w = Files.readAllBytes(broken.resolve("model.safetensors"));
        Files.write(broken.resolve("model.safetensors"), Arrays.copyOf(w, w.length / 2));
        e = assertThrows(VisionTowerException.class, () -> embedder().setModelPath(broken.toString()).transform(in));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        e = assertThrows(VisionTowerException.class, () -> embedder().setBackend("no-such-backend").transform(in));
        assertTrue(e.getMessage().contains("no-such-backend"), e.getMessage());
        var bad = assertThrows(VisionTowerException.class, () -> embedder().setInputCol("nope").transform(in));
        assertTrue(bad.getMessage().contains("nope"), bad.getMessage());
        Thread.sleep(200);
        assertEquals(before, TASKS.get(), "no task started");
    }
}
