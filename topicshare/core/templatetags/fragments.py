"""{% fragment "name" [value …] %}…{% endfragment %} and {% personal "template" arg %}: see
topicshare/core/fragments.py."""

from django import template

from topicshare.core.fragments import (
    fragment_fill,
    fragment_get,
    fragment_key,
    fragment_store,
    marking,
    personal_marker,
    register_personal_template,
    render_personal,
)

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, nodelist, name, vary):
        self.nodelist, self.name, self.vary = nodelist, name, vary

    def render(self, context):
        request = context.get("request")
        key = fragment_key(
            request, self.name.resolve(context), [value.resolve(context) for value in self.vary]
        )
        if key is None:
            return self.nodelist.render(context)
        stored = fragment_get(key)
        if stored is None:
            with context.push(_in_fragment=True):
                stored = fragment_store(key, self.nodelist.render(context))
        # Inside a fragment or a page being stored whole, the holes stay holes: the outer
        # one is filled when it is served.
        return stored if marking(context) else fragment_fill(stored, context)


@register.tag("fragment")
def do_fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% fragment %} needs a name")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(
        nodelist, parser.compile_filter(bits[1]), [parser.compile_filter(b) for b in bits[2:]]
    )


class PersonalNode(template.Node):
    def __init__(self, template_name: str, arg):
        self.template_name, self.arg = template_name, arg

    def render(self, context):
        arg = self.arg.resolve(context)
        if marking(context):
            return personal_marker(self.template_name, arg)
        # Outside a fragment (or with fragments off): rendered in place.
        return render_personal(self.template_name, arg, context)


@register.tag("personal")
def do_personal(parser, token):
    bits = token.split_contents()
    if len(bits) != 3 or bits[1][0] not in "\"'":
        raise template.TemplateSyntaxError('{% personal "template.html" arg %}')
    name = bits[1][1:-1]
    register_personal_template(name)
    return PersonalNode(name, parser.compile_filter(bits[2]))
