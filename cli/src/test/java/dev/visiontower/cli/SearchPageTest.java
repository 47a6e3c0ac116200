package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.server.EmbeddingServer;
import dev.visiontower.server.Encoder;
import dev.visiontower.server.ServerConfig;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The search page end to end in Debian's Chromium, headless, driven by Selenium through the system's chromedriver:
 * add the sample images, search for "red triangle", check the best match; classify the chosen image; and the
 * {@code --gallery} folder embedded when the page opens. {@code .ci/run} installs chromium and chromium-driver when
 * they are missing; where they cannot be installed the test is skipped with that reason (never counted as passed).
 */
class SearchPageTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path DRIVER = Path.of("/usr/bin/chromedriver");

    private static WebDriver browser() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "SKIPPED, not passed: the browser test needs Debian's chromium and chromium-driver (apt-get install "
                + "chromium chromium-driver; .ci/run installs them when missing)");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
                .build();
        return new ChromeDriver(service, options);
    }

    private static String status(WebDriver d) {
        return d.findElement(By.id("status")).getText();
    }

    @Test
    void addImagesSearchAndClassifyInARealBrowser() throws Exception {
        Path samples = CliTest.root().resolve("samples/images").toAbsolutePath().normalize();
        Backend backend = Backends.open("libtorch", dev.visiontower.api.spi.BackendOptions.defaults());
        try (EmbeddingServer server = EmbeddingServer.start(Encoder.of(DualEncoder.open(CliTest.root().resolve(
                "samples/model"), backend), "shapes-clip"), ServerConfig.defaults().withPort(0))) {
            WebDriver d = browser();
            try {
                WebDriverWait wait = new WebDriverWait(d, Duration.ofSeconds(60));
                d.get("http://127.0.0.1:" + server.port() + "/");
                List<String> files;
                try (var s = Files.list(samples)) {
                    files = s.map(Path::toString).sorted().collect(Collectors.toList());
                }
                d.findElement(By.id("files")).sendKeys(String.join("\n", files));
                wait.until(x -> status(x).startsWith("embedded " + files.size()));
                WebElement query = d.findElement(By.id("query"));
                query.sendKeys("red triangle");
                d.findElement(By.id("search")).click();
                wait.until(x -> status(x).startsWith("best match"));
                String first = d.findElements(By.cssSelector("#grid .card .name")).get(0).getText();
                assertEquals("07-red-triangle.png", first, status(d));
                assertTrue(d.findElements(By.cssSelector("#grid .card .score")).size() == files.size());

                // zero-shot on the chosen (first) image
                d.findElements(By.cssSelector("#grid .card")).get(0).click();
                d.findElement(By.id("labels")).sendKeys("red triangle, blue circle, green star");
                d.findElement(By.id("classify")).click();
                wait.until(x -> !x.findElement(By.id("labels-out")).getText().isEmpty());
                String labels = d.findElement(By.id("labels-out")).getText();
                assertTrue(labels.startsWith("07-red-triangle.png: red triangle"), labels);

                File shot = ((ChromeDriver) d).getScreenshotAs(OutputType.FILE);
                Path out = Path.of("target", "search-page.png");
                Files.copy(shot.toPath(), out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                System.out.println("search page screenshot: " + out.toAbsolutePath());
            } finally {
                d.quit();
            }
        }
        // the --gallery folder, embedded when the page opens
        Backend b2 = Backends.open("libtorch", dev.visiontower.api.spi.BackendOptions.defaults());
        try (EmbeddingServer server = EmbeddingServer.start(Encoder.of(DualEncoder.open(CliTest.root().resolve(
                "samples/model"), b2), "shapes-clip"), ServerConfig.defaults().withPort(0), samples)) {
            WebDriver d = browser();
            try {
                d.get("http://127.0.0.1:" + server.port() + "/");
                new WebDriverWait(d, Duration.ofSeconds(60)).until(x -> status(x).startsWith("embedded 8"));
                d.findElement(By.id("query")).sendKeys("green star\n");
                new WebDriverWait(d, Duration.ofSeconds(60)).until(x -> status(x).startsWith("best match"));
                assertEquals("08-green-star.png", d.findElements(By.cssSelector("#grid .card .name")).get(0)
                        .getText(), status(d));
            } finally {
                d.quit();
            }
        }
    }
}
