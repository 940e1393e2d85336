"""Response shapes of the report endpoints, for the OpenAPI schema (the views build plain dicts)."""

from rest_framework import serializers


class ConvictionRateRowOutput(serializers.Serializer):
    group = serializers.JSONField(
        help_text="court/station/district/offence code, true/false, YYYY-MM, or null"
    )
    convictions = serializers.IntegerField(allow_null=True)
    acquittals = serializers.IntegerField(allow_null=True)
    verdicts = serializers.IntegerField(allow_null=True)
    withdrawn = serializers.IntegerField(allow_null=True)
    provisionally_withdrawn = serializers.IntegerField(allow_null=True)
    struck_off = serializers.IntegerField(allow_null=True)
    diverted = serializers.IntegerField(allow_null=True)
    finalised = serializers.IntegerField(allow_null=True)
    conviction_rate = serializers.FloatField(allow_null=True, help_text="convictions / verdicts, 0-1")
    outcome_conviction_rate = serializers.FloatField(
        allow_null=True, help_text="convictions / finalised, 0-1"
    )
    suppressed = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="fields withheld (small cells)"
    )
    complementary = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="of those, the ones withheld only so that a small cell cannot be worked out (x)",
    )


class ConvictionRateOutput(serializers.Serializer):
    definitions = serializers.DictField(child=serializers.CharField())
    rows = ConvictionRateRowOutput(many=True)
    total = ConvictionRateRowOutput()


class DashboardRowOutput(serializers.Serializer):
    key = serializers.JSONField()
    count = serializers.IntegerField(allow_null=True)
    suppressed = serializers.ListField(child=serializers.CharField(), required=False)
    complementary = serializers.ListField(child=serializers.CharField(), required=False)


class DashboardOutput(serializers.Serializer):
    rows = DashboardRowOutput(many=True)
    total = serializers.IntegerField(allow_null=True)
