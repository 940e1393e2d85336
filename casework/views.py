from django.http import HttpResponse


def home(request):
    return HttpResponse("ok")


case_list = police_case_detail = police_case_transition = prosecution_detail = prosecution_transition = home
incident_detail = home
