package dev.ferry.source;

import static org.assertj.core.api.Assertions.assertThat;

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
        medium.row(8192);
        assertThat(medium.next()).isEqualTo(512);
    }

    @Test
    void narrowRowsAreBoundedByMaxRowsAndHugeOnesFetchOneAtATime() {
        FetchSizing narrow = new FetchSizing(2000);
        for (int i = 0; i < 16; i++) {
            narrow.row(40);
        }
        assertThat(narrow.next()).isEqualTo(2000);
        FetchSizing huge = new FetchSizing(2000);
        huge.row(50_000_000);
        assertThat(huge.next()).isEqualTo(1);
        FetchSizing empty = new FetchSizing(2000);
        empty.row(0);
        assertThat(empty.next()).isEqualTo(2000);
    }

    @Test
    void aWideRowShrinksTheNextFetchAtOnceAndNarrowOnesGrowItBackGradually() {
        FetchSizing sizing = new FetchSizing(1024);
        for (int i = 0; i < 1000; i++) {
            sizing.row(100);
        }
        assertThat(sizing.next()).isEqualTo(1024);
        sizing.row(2_000_000);
        assertThat(sizing.next()).as("right after a 2 MB row").isEqualTo(2);
        sizing.row(100);
        assertThat(sizing.next()).as("one narrow row later: still small").isLessThan(5);
        for (int i = 0; i < 200; i++) {
            sizing.row(100);
        }
        assertThat(sizing.next()).as("after many narrow rows").isEqualTo(1024);
    }
}
