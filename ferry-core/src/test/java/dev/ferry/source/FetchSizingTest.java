package dev.ferry.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FetchSizingTest {
    @Test
    void theFirstFetchIsSmallBeforeAnyWidthIsKnown() {
        FetchSizing sizing = new FetchSizing(2000);
        assertThat(sizing.first()).isEqualTo(16);
        assertThat(sizing.next()).isEqualTo(16);
    }

    @Test
    void fetchesHoldAboutFourMegabytesOfRowsOfTheWidthSeen() {
        FetchSizing wide = new FetchSizing(2000);
        for (int i = 0; i < 16; i++) {
            wide.row(1_000_000);
        }
        assertThat(wide.next()).as("1 MB rows").isEqualTo(4);
        FetchSizing medium = new FetchSizing(2000);
        for (int i = 0; i < 1000; i++) {
            medium.row(8192);
            medium.next();
        }
        assertThat(medium.next()).isEqualTo(512);
    }

    @Test
    void narrowRowsAreBoundedByMaxRowsAndHugeOnesFetchOneAtATime() {
        FetchSizing narrow = new FetchSizing(2000);
        for (int i = 0; i < 5000; i++) {
            narrow.row(40);
            narrow.next();
        }
        assertThat(narrow.next()).isEqualTo(2000);
        FetchSizing huge = new FetchSizing(2000);
        huge.row(50_000_000);
        assertThat(huge.next()).isEqualTo(1);
        FetchSizing empty = new FetchSizing(2000);
        empty.row(0);
        assertThat(empty.next()).as("one row read: at most the first fetch and that row").isEqualTo(17);
    }

    @Test
    void aWideRowShrinksTheNextFetchAtOnceAndNarrowOnesGrowItBackGradually() {
        FetchSizing sizing = new FetchSizing(1024);
        for (int i = 0; i < 2000; i++) {
            sizing.row(100);
            sizing.next();
        }
        assertThat(sizing.next()).isEqualTo(1024);
        sizing.row(2_000_000);
        assertThat(sizing.next()).as("right after a 2 MB row").isEqualTo(2);
        sizing.row(100);
        assertThat(sizing.next()).as("one narrow row later: still small").isLessThan(5);
        for (int i = 0; i < 2000; i++) {
            sizing.row(100);
            sizing.next();
        }
        assertThat(sizing.next()).as("after many narrow rows").isEqualTo(1024);
    }

    /** As a cursor's driver does: each fetch takes the size last set, and the reader sets it after each row. */
    @Test
    void eachFetchIsAtMostTwiceTheOneBeforeSoWideRowsAfterNarrowOnesComeInASmallFetch() {
        FetchSizing sizing = new FetchSizing(2000);
        List<Integer> fetches = new ArrayList<>();
        int fetch = sizing.first();
        int read = 0;
        int size = fetch;
        for (int row = 0; row < 260; row++) {
            if (read == fetch) {
                fetch = size;
                fetches.add(fetch);
                read = 0;
            }
            sizing.row(row < 200 ? 50 : 1_000_000);
            size = sizing.next();
            read++;
        }
        assertThat(fetches).as("fetches after the first 16 rows").startsWith(32, 64, 128);
        assertThat(fetches.get(3)).as("the fetch after the first 1 MB rows").isEqualTo(4);
    }
}
