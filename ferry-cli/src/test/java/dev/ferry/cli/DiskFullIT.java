package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ferry.testkit.PrivatePostgresTest;
import dev.ferry.testkit.ReplayVerifier;
import dev.ferry.testkit.ShopWorkload;
import dev.ferry.testkit.TestingPostgres;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state folder's disk fills up while Ferry streams: capture pauses with a clear warning instead of
 * failing, the source keeps the changes, and once space is freed everything flows again; the replay
 * check then finds nothing lost and nothing duplicated.
 *
 * <p>The state folder sits on a small tmpfs mounted for the test (which needs root; the test is
 * skipped where mounting is not allowed), filled up with a file that is deleted later.
 */
class DiskFullIT extends PrivatePostgresTest {
    private static final List<String> TABLES = List.of("public.customers", "public.products", "public.transactions");

    @TempDir
    Path dir;
    private Path disk;

    @AfterEach
    void unmount() throws Exception {
        if (disk != null) {
            run("umount", "-l", disk.toString());
        }
    }

    @Test
    void captureWaitsForSpaceWhenTheStateFolderDiskIsFullAndLosesNothing() throws Exception {
        Path mountPoint = Files.createDirectories(dir.resolve("small-disk"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint.toString()) == 0,
                "mounting a tmpfs needs root");
        disk = mountPoint;

        pg.createDatabase("diskfull");
        try (Connection c = pg.connect("diskfull")) {
            ShopWorkload.createSchema(c);
            new ShopWorkload(c, 1).seed(200, 10, 1_000);
        }
        TestingPostgres.CaptureRole role = pg.grantCapture("diskfull", "diskfull");
        JsonlPipelineFile.write(dir, pg, "diskfull", role);
        Files.writeString(dir.resolve("pipeline.yaml"), "state: small-disk/state\nlog: {segment_mb: 1}\n",
                java.nio.file.StandardOpenOption.APPEND);
        Map<String, String> env = JsonlPipelineFile.env(role);
        FerryProcess ferry = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml");
        await(() -> Files.exists(dir.resolve("out/_ferry")), 60, "the snapshot to be delivered: " + ferry.stderr());

        Path filler = mountPoint.resolve("filler");
        fill(filler);
        long written = 0;
        try (Connection c = pg.connect("diskfull")) {
            ShopWorkload w = new ShopWorkload(c, 2);
            long deadline = System.currentTimeMillis() + 60_000;
            while (!ferry.stderr().contains("No space left on the disk") && System.currentTimeMillis() < deadline) {
                written += w.run(200);
            }
            assertThat(ferry.stderr()).as("capture says the disk is full").contains("No space left on the disk",
                    "Capture is paused");
            written += w.run(500); // more changes while capture waits: the source keeps them
            Thread.sleep(1_000);
            assertThat(ferry.isAlive()).as("ferry waits instead of failing: " + ferry.stderr()).isTrue();

            Files.delete(filler);
            await(() -> ferry.stderr().contains("has space again"), 60, "capture to go on: " + ferry.stderr());
            written += w.run(500);
        }
        Thread.sleep(2_000);
        ferry.terminate();
        assertThat(ferry.waitFor()).as(ferry.stderr()).isEqualTo(0);
        FerryProcess finish = FerryProcess.start(dir, env, "run", "-c", "pipeline.yaml", "--once");
        assertThat(finish.waitFor()).as(finish.stderr()).isEqualTo(0);
        ReplayVerifier.Result result;
        try (Connection c = pg.connect("diskfull")) {
            result = ReplayVerifier.verify(dir.resolve("out"), c, TABLES);
        }
        System.out.println("DiskFullIT: " + written + " changes written around a full disk; replay: " + result);
        assertThat(result.problems()).isEmpty();
    }

    /** Writes zeros into {@code file} until the disk has no space left. */
    private static void fill(Path file) throws IOException {
        byte[] chunk = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw e;
            }
        }
    }

    private static void await(BooleanSupplier condition, int seconds, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("waited " + seconds + " s for " + what);
            }
            Thread.sleep(100);
        }
    }

    private static int run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
