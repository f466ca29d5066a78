"""The rules of domain.md, one module each, named by their ids (H1-H10, T1-T4, S1-S5)."""

from __future__ import annotations

from constraints.h1_availability import H1Availability
from constraints.h2_ride_buffer import H2RideBuffer
from constraints.h3_heavy_before_long import H3HeavyBeforeLong
from constraints.h4_heavy_after_long import H4HeavyAfterLong
from constraints.h5_no_strength_on_long_day import H5NoStrengthOnLongDay
from constraints.h6_same_day_gap import H6SameDayGap
from constraints.h7_strength_gap import H7StrengthGap
from constraints.h8_race_taper import H8RaceTaper
from constraints.h9_first_exposure import H9FirstExposure
from constraints.h10_pain_regions import H10PainRegions
from constraints.s1_heavy_before_intervals import S1HeavyBeforeIntervals
from constraints.s2_preferred_times import S2PreferredTimes
from constraints.s3_spread import S3Spread
from constraints.s4_stability import S4Stability
from constraints.s5_strength_before_ride import S5StrengthBeforeRide
from constraints.t1_strength_per_week import T1StrengthPerWeek
from constraints.t2_mobility_days import T2MobilityDays
from constraints.t3_deload import T3Deload
from constraints.t4_taper import T4Taper
from planner.domain import RuleSettings
from planner.variables import Rule


def hard_rules(settings: RuleSettings) -> list[Rule]:
    return [
        H1Availability(),
        H2RideBuffer(ride_buffer_min=settings.ride_buffer_min),
        H3HeavyBeforeLong(heavy_before_long_h=settings.heavy_before_long_h),
        H4HeavyAfterLong(heavy_after_long_h=settings.heavy_after_long_h),
        H5NoStrengthOnLongDay(),
        H6SameDayGap(same_day_gap_h=settings.same_day_gap_h),
        H7StrengthGap(strength_gap_h=settings.strength_gap_h),
        H8RaceTaper(
            taper_days_A=settings.taper_days_A,
            taper_days_B=settings.taper_days_B,
            clear_before_B_h=settings.clear_before_B_h,
            clear_before_C_h=settings.clear_before_C_h,
        ),
        H9FirstExposure(first_exposure_gap_h=settings.first_exposure_gap_h),
        H10PainRegions(),
    ]


def soft_rules(settings: RuleSettings) -> list[Rule]:
    return [
        T1StrengthPerWeek(),
        T2MobilityDays(
            mobility_days_min=settings.mobility_days_min,
            mobility_days_max=settings.mobility_days_max,
        ),
        T3Deload(),
        T4Taper(),
        S1HeavyBeforeIntervals(),
        S2PreferredTimes(
            preferred_weekdays=list(settings.preferred_weekdays),
            preferred_time=settings.preferred_time,
        ),
        S3Spread(),
        S4Stability(),
        S5StrengthBeforeRide(),
    ]


def all_rules(settings: RuleSettings) -> list[Rule]:
    return hard_rules(settings) + soft_rules(settings)


__all__ = ["all_rules", "hard_rules", "soft_rules"]
