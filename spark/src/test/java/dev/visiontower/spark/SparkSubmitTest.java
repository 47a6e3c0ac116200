package dev.visiontower.spark;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job the way {@code spark-submit} runs it, in a child JVM: {@code org.apache.spark.deploy.SparkSubmit} with
 * Spark and its dependencies on the class path (a Spark installation's {@code jars/}), this module's classes as the
 * application jar and visiontower's other modules as {@code --jars}, so that they are loaded by Spark's user class
 * loader, where the backends and families must still be found.
 */
class SparkSubmitTest {
    @TempDir
    Path tmp;

    /** A directory of classes as a jar (reactor modules are directories when only the tests are run). */
    private Path jar(Path entry, String name) throws IOException {
        if (!Files.isDirectory(entry)) {
            return entry;
        }
        Path out = tmp.resolve("jars").resolve(name + ".jar");
        Files.createDirectories(out.getParent());
        try (OutputStream o = Files.newOutputStream(out); JarOutputStream j = new JarOutputStream(o);
             Stream<Path> files = Files.walk(entry)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                j.putNextEntry(new JarEntry(entry.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, j);
                j.closeEntry();
            }
        }
        return out;
    }

    @Test
    void theJobRunsUnderSparkSubmitWithVisiontowerInTheUserClassLoader() throws Exception {
        Path root = SparkFixtures.home();
        Path own = root.resolve("spark/target/classes").toAbsolutePath();
        List<String> distribution = new ArrayList<>();
        List<String> jars = new ArrayList<>();
        int n = 0;
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Paths.get(e).toAbsolutePath();
            boolean visiontower = p.startsWith(root) || e.replace('\\', '/').contains("/dev/visiontower/");
            boolean cli = p.startsWith(root.resolve("cli")) || e.replace('\\', '/').contains("/dev/visiontower/cli/");
            if (p.equals(own) || p.getFileName().toString().equals("test-classes") || cli) {
                continue; // the application jar itself; the tests; the CLI (not part of the job)
            }
            if (visiontower) {
                jars.add(jar(p, "module-" + n++).toString());
            } else {
                distribution.add(e);
            }
        }
        Path images = SparkFixtures.images(tmp);
        Path out = tmp.resolve("out.parquet");
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("@" + root.resolve("spark/conf/java-options")); // the JVM options Spark needs on Java 17
        cmd.addAll(List.of("-Dlog4j2.configurationFile=" + root.resolve("spark/conf/log4j2.properties"),
                "-cp", String.join(java.io.File.pathSeparator, distribution),
                "org.apache.spark.deploy.SparkSubmit", "--master", "local[2]",
                "--conf", "spark.ui.enabled=false",
                "--class", SparkEmbedJob.class.getName(), "--jars", String.join(",", jars),
                jar(own, "visiontower-spark").toString(),
                "--model", SparkFixtures.model().toString(), "--input", images.toString(), "--output", out.toString(),
                "--labels", "red triangle,green star"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("log.txt").toFile())
                .start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "spark-submit did not finish in 5 minutes");
        String log = Files.readString(tmp.resolve("log.txt"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("wrote 9 row(s)") && log.contains("1 with an error"), log);
        assertTrue(Files.isDirectory(out), log);
    }
}
