package dev.ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.error.FerryException;
import dev.ferry.error.ErrorKind;
import dev.ferry.error.FerryException;
import dev.ferry.source.Window;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ferry run} with a {@code schedule:}: batch runs at the schedule's times, one after the other.
 *
 * <p>Design notes. The last scheduled time whose run completed is kept in {@code schedule.json} in
 * the state folder, written once the run has committed everything, so a run cut short (a crash, a
 * stop) counts as missed and is made again: batch runs are safe to repeat, a window run replaces its
 * partition. At each turn the times after it up to now are due: without windows one run makes up all
 * of them (it reads whatever changed since the last); with {@code window: day} each due time is a run
 * of its own window, oldest first, at most {@code catch_up} of them. Runs never overlap: they run on
 * this one thread, and a run that outlasts the next time makes that time due when it ends. The first
 * start of a pipeline makes up nothing: its first run is at the next time.
 */
final class ScheduledRuns {
    private static final Logger LOG = LoggerFactory.getLogger(ScheduledRuns.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One batch run ({@code ferry run --once}, with the window if any); false when stopped before it finished. */
    interface BatchRun {
        boolean run(Optional<Window> window) throws Exception;
    }

    /** Waits until the clock reaches a time; false when stopped meanwhile. */
    interface Waiter {
        boolean waitUntil(Instant time) throws InterruptedException;
    }

    private final Schedule schedule;
    private final Clock clock;
    private final Path stateFile;

    ScheduledRuns(Schedule schedule, Clock clock, Path stateFile) {
        this.schedule = schedule;
        this.clock = clock;
        this.stateFile = stateFile;
    }

    /** Runs batches at the schedule's times until the waiter or a run says stop. */
    void run(BatchRun batch, Waiter waiter) throws Exception {
        while (true) {
            Instant now = clock.instant();
            Optional<Instant> recorded = last();
            if (recorded.isEmpty()) {
                record(now); // a first start makes up nothing
                continue;
            }
            List<Instant> due = due(recorded.get(), now);
            if (due.isEmpty()) {
                Instant next = schedule.next(now.isAfter(recorded.get()) ? now : recorded.get());
                LOG.info("Next batch run at {} ({})", next.atZone(schedule.zone()), schedule.cron());
                if (!waiter.waitUntil(next)) {
                    return;
                }
                continue;
            }
            if (!schedule.dayWindow()) {
                Instant t = due.get(due.size() - 1);
                LOG.info("Batch run for {}{}", t.atZone(schedule.zone()), due.size() > 1
                        ? " (it makes up " + (due.size() - 1) + " missed times before it)" : "");
                Boolean done = attempt(batch, Optional.empty(), t, waiter);
                if (done == null) {
                    continue; // failed: made up at the next turn, the time still due
                }
                if (!done) {
                    return;
                }
                record(t);
                continue;
            }
            int kept = Math.max(1, schedule.catchUp()); // the newest time runs whatever catch_up says
            if (due.size() > kept) {
                List<Instant> skipped = due.subList(0, due.size() - kept);
                LOG.warn("{} missed runs are more than catch_up ({}): skipping the windows of {} to {}. Run them with "
                        + "ferry run --once --window DATE if they are needed.", due.size(), schedule.catchUp(),
                        schedule.window(skipped.get(0)).map(Window::name).orElse("?"),
                        schedule.window(skipped.get(skipped.size() - 1)).map(Window::name).orElse("?"));
                record(skipped.get(skipped.size() - 1));
                due = due.subList(due.size() - kept, due.size());
            }
            for (Instant t : due) {
                Optional<Window> w = schedule.window(t);
                LOG.info("Batch run for {}: window {}", t.atZone(schedule.zone()), w.map(Window::name).orElse("-"));
                Boolean done = attempt(batch, w, t, waiter);
                if (done == null) {
                    break; // failed: made up at the next turn, the time still due
                }
                if (!done) {
                    return;
                }
                record(t);
            }
        }
    }

    /**
     * One batch run; null when it failed at run time (the source or a sink away, a bad record with
     * record_errors: fail), after waiting for the next scheduled time: a scheduler keeps going, and the
     * failed time stays due, so the next turn makes it up. A configuration or prerequisite error needs
     * a person: it ends the scheduler (exit 2), as it would end ferry run --once.
     *
     * @return true when the run completed, false when stopped, null when it failed
     */
    private Boolean attempt(BatchRun batch, Optional<Window> window, Instant t, Waiter waiter) throws Exception {
        try {
            return batch.run(window);
        } catch (FerryException e) {
            if (e.kind() == ErrorKind.CONFIG || e.kind() == ErrorKind.PREREQUISITE) {
                throw e;
            }
            Instant next = schedule.next(clock.instant());
            LOG.error("The batch run for {} failed: {} It is made up with the run at {}.", t.atZone(schedule.zone()),
                    e.getMessage(), next.atZone(schedule.zone()));
            return waiter.waitUntil(next) ? null : Boolean.FALSE;
        }
    }

    /** The scheduled times after {@code last} up to {@code now}, oldest first. */
    List<Instant> due(Instant last, Instant now) {
        List<Instant> out = new ArrayList<>();
        for (Instant t = schedule.next(last); !t.isAfter(now); t = schedule.next(t)) {
            out.add(t);
            if (out.size() > 100_000) {
                break; // a schedule every minute over months of downtime: enough to know it is a lot
            }
        }
        return out;
    }

    /** For {@code ferry status}: the last scheduled time that ran, and when the next run starts. */
    Map<String, String> status() throws FerryException {
        Instant now = clock.instant();
        Optional<Instant> last = last();
        String next;
        if (last.isEmpty()) {
            next = schedule.next(now).atZone(schedule.zone()) + " (after ferry run starts)";
        } else {
            int due = due(last.get(), now).size();
            next = due > 0 ? "now: " + due + " scheduled times are due (made up when ferry run runs)"
                    : schedule.next(now).atZone(schedule.zone()).toString();
        }
        Map<String, String> out = new java.util.LinkedHashMap<>();
        out.put("cron", schedule.cron() + " (" + schedule.zone() + ")");
        out.put("last scheduled run", last.map(t -> t.atZone(schedule.zone()).toString()).orElse("none yet"));
        out.put("next run", next);
        return out;
    }

    private Optional<Instant> last() throws FerryException {
        try {
            JsonNode node = MAPPER.readTree(Files.readString(stateFile, StandardCharsets.UTF_8));
            return Optional.of(Instant.parse(node.path("last_scheduled").asText()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            throw FerryException.internal("Cannot read the schedule's state " + stateFile + ": " + e.getMessage()
                    + ". Delete it to start the schedule afresh (nothing is made up then).", e);
        }
    }

    private void record(Instant t) throws IOException {
        Files.createDirectories(stateFile.getParent());
        Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(MAPPER.writeValueAsBytes(Map.of("last_scheduled", t.toString()))));
            ch.force(true);
        }
        Files.move(tmp, stateFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
