package dev.ferry.cli;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import dev.ferry.config.ComponentConfig;
import dev.ferry.config.Setting;
import dev.ferry.error.FerryException;
import dev.ferry.source.Window;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Optional;

/**
 * The {@code schedule:} of a pipeline file: when {@code ferry run} starts a batch run, in cron syntax
 * (five fields, Unix), in a time zone; and whether each run extracts a window.
 *
 * @param cron      the expression as written
 * @param zone      the zone the times are in
 * @param dayWindow whether a run at time T extracts the day before T's date as a window
 * @param catchUp   the most missed windowed runs made up after a downtime, counting the newest due time,
 *                  which runs even with 0
 */
record Schedule(String cron, ZoneId zone, boolean dayWindow, int catchUp, ExecutionTime times) {
    static final Setting<String> CRON = Setting.string("cron",
            "when runs start, in Unix cron syntax (minute hour day-of-month month day-of-week); a bare schedule: "
                    + "\"...\" is this key", "0 2 * * *").required();
    static final Setting<String> ZONE = Setting.string("zone", "the time zone of the cron times and of the windows; "
            + "default: the machine's", "Europe/Berlin");
    static final Setting<String> WINDOW = Setting.oneOf("window",
            "none: each run reads what changed since the last (one run makes up every missed time); day: the run at "
                    + "time T extracts the day before T's date as a window (--window), each missed time its own run",
            "none", "day").withDefault("none");
    static final Setting<Integer> CATCH_UP = Setting.integer("catch_up",
            "with window: day, the most missed runs made up after a downtime, oldest first; older ones are skipped "
                    + "with a warning (run them with --once --window DATE)", 0, 10_000).withDefault(31);
    static final List<Setting<?>> ALL = List.of(CRON, ZONE, WINDOW, CATCH_UP);

    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    static Schedule read(ComponentConfig c) throws FerryException {
        c.rejectUnknownKeys(ALL);
        String expression = c.get(CRON).trim();
        Cron cron;
        try {
            cron = PARSER.parse(expression).validate();
        } catch (IllegalArgumentException e) {
            throw FerryException.config(c.where(CRON.key()) + " \"" + expression + "\" is not a cron expression: "
                    + e.getMessage() + ". Write five fields, minute hour day-of-month month day-of-week, such as "
                    + "\"0 2 * * *\" (every day at 02:00).");
        }
        ZoneId zone;
        try {
            zone = c.find(ZONE).map(ZoneId::of).orElse(ZoneId.systemDefault());
        } catch (DateTimeException e) {
            throw FerryException.config(c.where(ZONE.key()) + " is not a time zone; write one such as UTC or Europe/Berlin.");
        }
        return new Schedule(expression, zone, c.get(WINDOW).equals("day"), c.get(CATCH_UP), ExecutionTime.forCron(cron));
    }

    /** The first time strictly after {@code t}. */
    Instant next(Instant t) {
        Optional<ZonedDateTime> next = times.nextExecution(t.atZone(zone));
        return next.orElseThrow(() -> new IllegalStateException("cron " + cron + " has no time after " + t)).toInstant();
    }

    /** The window a run scheduled at {@code t} extracts, when the schedule has windows. */
    Optional<Window> window(Instant t) {
        return dayWindow ? Optional.of(Window.day(t.atZone(zone).toLocalDate().minusDays(1), zone)) : Optional.empty();
    }
}
