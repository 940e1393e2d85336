"""What each report counts, as query builders over casework, referrals and the kept rows' sources.

One module per measure, named as the reports name it: ``admissions`` (the dashboard's counts),
``funnel`` (attrition), ``unknown_to_police``, ``outcomes`` (conviction rate), ``removals``,
``re_enrolment``, and ``touched`` (which days and months a change touches). They read and return rows;
they neither write nor suppress. Above them, ``rollups`` keeps their answers per day and the selectors
(``selectors``, ``dashboard``, ``attrition``, ``hotspots``) read them for users.
"""
