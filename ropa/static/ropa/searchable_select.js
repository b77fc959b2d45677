// A long list (countries) as a select the user can type into: the admin's own
// select2, on every <select class="searchable-select"> of the page and of each
// inline row added later. The select itself still posts the chosen value.
'use strict';
{
    const $ = django.jQuery;

    function init(container) {
        $(container).find('select.searchable-select').not('[name*=__prefix__]').each(function() {
            if (!$(this).data('select2')) {
                $(this).select2({width: 'style', allowClear: !this.required, placeholder: ''});
            }
        });
    }

    $(function() {
        init(document);
    });
    document.addEventListener('formset:added', function(event) {
        init(event.target);
    });
}
