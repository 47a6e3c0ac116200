package dev.visiontower.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.visiontower.spark.SparkFixtures.fileName;
import static dev.visiontower.spark.SparkFixtures.maxDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code spark-embed} end to end in local mode: the Parquet it writes, and its one-line refusals. */
class SparkEmbedJobTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    static Result job(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SparkEmbedJob.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private static List<Row> readParquet(Path p) {
        SparkSession s = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false").getOrCreate();
        try {
            return s.read().parquet(p.toString()).collectAsList();
        } finally {
            s.stop();
        }
    }

    @Test
    void writesParquetWithPathEmbeddingAndErrorEqualToEmbed() throws Exception {
        Path images = SparkFixtures.images(tmp);
        Map<String, float[]> want = SparkFixtures.embed(images, tmp, false);
        Path out = tmp.resolve("out.parquet");
        Result r = job("--model", SparkFixtures.model().toString(), "--input", images.toString(), "--output",
                out.toString(), "--master", "local[2]", "--batch", "3", "--partitions", "2",
                "--labels", "red triangle,green star,blue circle");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote 9 row(s)") && r.out().contains("1 with an error"), r.out());
        List<Row> rows = readParquet(out);
        assertEquals(9, rows.size());
        assertEquals(List.of("path", "embedding", "label", "probability", "error"),
                List.of(rows.get(0).schema().fieldNames()));
        Map<String, Row> m = new HashMap<>();
        rows.forEach(x -> m.put(fileName(x.getAs("path")), x));
        assertNotNull(m.get("09-corrupt.png").getAs("error"));
        assertNull(m.get("09-corrupt.png").getAs("embedding"));
        assertEquals("red triangle", m.get("07-red-triangle.png").getAs("label"));
        for (var e : want.entrySet()) {
            Row x = m.get(e.getKey());
            assertNull(x.getAs("error"), e.getKey());
            List<Object> l = x.getList(x.fieldIndex("embedding"));
            float[] v = new float[l.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (Float) l.get(i);
            }
            assertTrue(maxDiff(v, e.getValue()) <= 1e-5, e.getKey());
        }
        // the output exists now: refused without --overwrite, in one line
        r = job("--model", SparkFixtures.model().toString(), "--input", images.toString(), "--output", out.toString(),
                "--master", "local[1]");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("visiontower: error: ") && r.err().strip().lines().count() == 1, r.err());
    }

    @Test
    void embedsTheLinesOfTextFiles() throws Exception {
        Path texts = Files.writeString(tmp.resolve("texts.txt"), "a photo of a red triangle.\na green star\n");
        Path out = tmp.resolve("texts.parquet");
        Result r = job("--model", SparkFixtures.model().toString(), "--input", texts.toString(), "--output",
                out.toString(), "--master", "local[1]", "--text", "--normalize");
        assertEquals(0, r.code(), r.err());
        List<Row> rows = readParquet(out);
        assertEquals(2, rows.size());
        for (Row x : rows) {
            assertNull(x.getAs("error"));
            double n = 0;
            for (Object f : x.getList(x.fieldIndex("embedding"))) {
                n += (Float) f * (Float) f;
            }
            assertEquals(1.0, n, 1e-5, "normalised");
        }
    }

    @Test
    void aWrongModelIsOneLineAndExitTwo() {
        Result r = job("--model", tmp.resolve("nothing").toString(), "--input", tmp.toString(), "--output",
                tmp.resolve("o.parquet").toString(), "--master", "local[1]");
        assertEquals(2, r.code(), r.err());
        assertEquals("visiontower: error: " + tmp.resolve("nothing") + ": no such model directory", r.err().strip());
    }
}
