package dev.visiontower.api;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Locates the golden fixtures copied into the repository ({@code testdata/golden}). */
public final class Golden {
    private Golden() {
    }

    public static Path dir(String caseName) {
        String prop = System.getProperty("visiontower.testdata");
        Path root = prop != null ? Paths.get(prop) : Paths.get("..", "testdata");
        Path p = root.resolve("golden").resolve(caseName);
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("golden fixture missing: " + p.toAbsolutePath()
                    + " (the repository's testdata/ folder must be present)");
        }
        return p;
    }
}
